#include "zerotune/runtime/logging.hpp"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

namespace zerotune::runtime {

namespace {
constexpr const char* kLoggerName = "zerotune";
}

void init_console_logging(int rank) {
  spdlog::drop(kLoggerName);
  auto console = std::make_shared<spdlog::sinks::stdout_sink_mt>();
  console->set_pattern("%v");
  // Other ranks stay quiet on stdout: their story is in their own log file.
  console->set_level(rank == 0 ? spdlog::level::info : spdlog::level::off);
  auto logger = std::make_shared<spdlog::logger>(kLoggerName, console);
  logger->set_level(spdlog::level::debug);
  logger->flush_on(spdlog::level::info);
  spdlog::register_logger(logger);
}

void add_rank_log_file(const std::filesystem::path& path, int rank) {
  auto file = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path.string(), false);
  file->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [rank " + std::to_string(rank) + "] [%l] %v");
  file->set_level(spdlog::level::debug);
  log().sinks().push_back(file);
}

void show_debug_on_console() {
  // The console sink is the first one (init_console_logging); it is off on ranks other than 0.
  auto& console = log().sinks().front();
  if (console->level() != spdlog::level::off) console->set_level(spdlog::level::debug);
}

spdlog::logger& log() {
  auto logger = spdlog::get(kLoggerName);
  if (!logger) {
    init_console_logging(0);
    logger = spdlog::get(kLoggerName);
  }
  return *logger;
}

}  // namespace zerotune::runtime
