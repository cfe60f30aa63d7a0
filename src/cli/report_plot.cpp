#include "zerotune/cli/report_plot.hpp"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <string>

#include "zerotune/base/error.hpp"

extern char** environ;

namespace zerotune::cli {

namespace fs = std::filesystem;

namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

// A gnuplot single-quoted string: quotes doubled, nothing else is special inside.
std::string quoted(const std::string& text) {
  std::string out = "'";
  for (char ch : text) out += ch == '\'' ? std::string("''") : std::string(1, ch);
  return out + "'";
}

// The program to run: $ZEROTUNE_GNUPLOT, else "gnuplot" if some PATH entry holds it.
std::string find_gnuplot() {
  if (const char* env = std::getenv("ZEROTUNE_GNUPLOT"); env && *env) return env;
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  size_t start = 0;
  for (;;) {
    const size_t colon = dirs.find(':', start);
    const fs::path candidate = fs::path(dirs.substr(start, colon - start)) / "gnuplot";
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  throw InputError(
      "report: --plot needs gnuplot, which is not on PATH (Debian/Ubuntu: apt-get install "
      "gnuplot-nox; Spack: spack install gnuplot; or set ZEROTUNE_GNUPLOT)");
}

// A scratch folder removed on every path out.
class ScratchFolder {
 public:
  ScratchFolder() {
    std::random_device rd;
    path_ = fs::temp_directory_path() /
            ("zerotune-plot-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
    fs::create_directories(path_);
  }
  ~ScratchFolder() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

void write_series(const fs::path& file, const std::map<int64_t, double>& series) {
  std::ofstream out(file);
  for (const auto& [x, y] : series) out << x << ' ' << y << '\n';
}

// memory/rank-*.csv -> "time_s used_gib alloc_gib reserved_gib" rows; false without a file.
bool write_memory_series(const fs::path& run_dir, const fs::path& file) {
  std::error_code ec;
  const fs::path dir = run_dir / "memory";
  if (run_dir.empty() || !fs::is_directory(dir, ec)) return false;
  std::ofstream out(file);
  bool any = false;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with("rank-") || entry.path().extension() != ".csv") continue;
    std::ifstream in(entry.path());
    std::string line;
    std::getline(in, line);  // header: time_s,step,device_used_bytes,allocated_bytes,reserved_bytes
    while (std::getline(in, line)) {
      double v[5];
      if (std::sscanf(line.c_str(), "%lf,%lf,%lf,%lf,%lf", &v[0], &v[1], &v[2], &v[3], &v[4]) !=
          5) {
        continue;
      }
      out << v[0] << ' ' << v[2] / kGiB << ' ' << v[3] / kGiB << ' ' << v[4] / kGiB << '\n';
      any = true;
    }
    out << "\n\n";  // gnuplot: the next rank is a new data block
  }
  return any;
}

// Runs gnuplot on the script; InputError with its exit status on failure.
void run_gnuplot(const std::string& program, const fs::path& script) {
  std::vector<std::string> args = {program, script.string()};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = ::posix_spawnp(&pid, program.c_str(), nullptr, nullptr, argv.data(), environ);
  if (rc != 0) {
    throw InputError("report: --plot: cannot start " + program + ": " + std::strerror(rc));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw InputError("report: --plot: waitpid failed for " + program);
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw InputError("report: --plot: " + program + " failed (exit status " +
                     std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) +
                     "); its message is above");
  }
}

}  // namespace

void write_report_plot(const std::vector<RunResults>& runs, const fs::path& out) {
  const std::string ext = out.extension().string();
  if (ext != ".png" && ext != ".svg") {
    throw InputError("report: --plot " + out.string() + ": expected a .png or .svg file name");
  }
  const std::string program = find_gnuplot();
  ScratchFolder scratch;
  const fs::path tmp_out = out.string() + ".tmp" + ext;

  std::string loss_plot, memory_plot, speed_plot;
  auto add = [](std::string& plot, const std::string& item) {
    plot += (plot.empty() ? "plot " : ", \\\n     ") + item;
  };
  for (size_t i = 0; i < runs.size(); ++i) {
    const RunResults& run = runs[i];
    const std::string n = std::to_string(i);
    const fs::path loss = scratch.path() / ("loss-" + n + ".dat");
    const fs::path eval = scratch.path() / ("eval-" + n + ".dat");
    const fs::path speed = scratch.path() / ("speed-" + n + ".dat");
    const fs::path memory = scratch.path() / ("memory-" + n + ".dat");
    const std::string color = " linecolor " + std::to_string(i + 1);
    if (!run.loss_by_step.empty()) {
      write_series(loss, run.loss_by_step);
      add(loss_plot, quoted(loss.string()) + " using 1:2 with lines" + color + " title " +
                         quoted(run.name + " train"));
    }
    if (!run.eval_loss_by_step.empty()) {
      write_series(eval, run.eval_loss_by_step);
      add(loss_plot, quoted(eval.string()) + " using 1:2 with linespoints dashtype 2" + color +
                         " pointtype 7 title " + quoted(run.name + " eval"));
    }
    if (!run.tokens_per_s_by_step.empty()) {
      write_series(speed, run.tokens_per_s_by_step);
      add(speed_plot,
          quoted(speed.string()) + " using 1:2 with lines" + color + " title " + quoted(run.name));
    }
    if (write_memory_series(run.run_dir, memory)) {
      add(memory_plot, quoted(memory.string()) + " using 1:2 with lines" + color + " title " +
                           quoted(run.name + " used"));
      add(memory_plot, quoted(memory.string()) + " using 1:3 with lines dashtype 2" + color +
                           " title " + quoted(run.name + " allocated"));
      add(memory_plot, quoted(memory.string()) + " using 1:4 with lines dashtype 3" + color +
                           " title " + quoted(run.name + " reserved"));
    }
  }
  // A panel without data says so instead of failing ("no data to plot" stops gnuplot).
  const std::string empty_panel =
      "set xrange [0:1]; set yrange [0:1]; set label 1 'no data' at graph 0.5, 0.5 center\n"
      "plot 2 notitle\nunset label 1; set autoscale\n";

  const std::string size = std::to_string(kPlotWidth) + "," + std::to_string(kPlotHeight);
  std::string script;
  script += ext == ".png" ? "set terminal pngcairo size " + size + " noenhanced font ',10'\n"
                          : "set terminal svg size " + size + " noenhanced font ',10'\n";
  script += "set output " + quoted(tmp_out.string()) + "\n";
  script += "set multiplot layout 3,1\nset grid\nset key outside right top\n";
  script += "set title 'Loss'\nset xlabel 'step'\nset ylabel 'loss'\n";
  script += loss_plot.empty() ? empty_panel : loss_plot + "\n";
  script += "set title 'Memory (memory/rank-*.csv)'\nset xlabel 'time (s)'\nset ylabel 'GiB'\n";
  script += memory_plot.empty() ? empty_panel : memory_plot + "\n";
  script += "set title 'Throughput'\nset xlabel 'step'\nset ylabel 'tokens/s'\n";
  script += speed_plot.empty() ? empty_panel : speed_plot + "\n";
  script += "unset multiplot\nset output\n";
  const fs::path script_file = scratch.path() / "report.gp";
  std::ofstream(script_file) << script;

  std::error_code ec;
  try {
    run_gnuplot(program, script_file);
    if (!fs::exists(tmp_out, ec)) {
      throw InputError("report: --plot: " + program + " wrote no " + tmp_out.string());
    }
    fs::rename(tmp_out, out);
  } catch (...) {
    fs::remove(tmp_out, ec);
    throw;
  }
}

}  // namespace zerotune::cli
