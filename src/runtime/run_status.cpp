#include "zerotune/runtime/run_status.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "zerotune/base/error.hpp"
#include "zerotune/runtime/stop_signal.hpp"

namespace zerotune::runtime {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const std::string& call, const fs::path& path, int err) {
  throw_library_error("filesystem", call + "(" + path.string() + ")", std::strerror(err));
}

int64_t latest_step(const fs::path& checkpoints_dir) {
  std::ifstream in(checkpoints_dir / "latest");
  std::string name;
  if (!(in >> name) || name.rfind("step-", 0) != 0) return 0;
  try {
    return std::stoll(name.substr(5));
  } catch (const std::exception&) {
    return 0;
  }
}

}  // namespace

void write_run_status(const fs::path& run_dir, const std::string& line, int rank) {
  const fs::path path = run_dir / "status";
  const fs::path temp = run_dir / (".status.tmp-" + std::to_string(rank));
  std::string text = line;
  for (char& c : text)
    if (c == '\n' || c == '\r') c = ' ';
  text += "\n";
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail("open", temp, errno);
  const ssize_t n = ::write(fd, text.data(), text.size());
  const int write_err = errno;
  if (n != static_cast<ssize_t>(text.size()) || ::fsync(fd) != 0) {
    const int err = n < 0 ? write_err : (errno ? errno : EIO);
    ::close(fd);
    ::unlink(temp.c_str());
    fail("write", temp, err);
  }
  ::close(fd);
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    fail("rename", path, err);
  }
}

std::string run_status_line(int code, const std::string& reason, const fs::path& checkpoints_dir) {
  const std::string step = std::to_string(latest_step(checkpoints_dir));
  if (code == kExitOk) return "finished step=" + step;
  if (is_stopped_exit_code(code)) {
    return "stopped step=" + step + " exit=" + std::to_string(code) +
           (is_requeue_exit_code(code) ? " requeue=yes" : " requeue=no");
  }
  return "failed exit=" + std::to_string(code) + " reason=" + reason;
}

}  // namespace zerotune::runtime
