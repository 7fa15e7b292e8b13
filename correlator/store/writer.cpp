// The live-writer bookkeeping: who writes a capturing run, and whether that process still
// runs (writer.hpp).

#include "correlator/store/writer.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>

namespace pathtrace::store_detail {
namespace {

// This machine's boot id ("" when unknown): a pid and start time only identify a process
// within one boot.
std::string boot_id() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string id;
  std::getline(in, id);
  return id;
}

// Field 22 of /proc/PID/stat (start time in clock ticks since boot), or "" when unknown.
std::string start_time(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return {};
  const auto close = line.rfind(')');  // the command may hold spaces and parentheses
  if (close == std::string::npos) return {};
  std::istringstream fields(line.substr(close + 1));
  std::string f;
  for (int i = 3; i <= 22 && (fields >> f); ++i) {
    if (i == 22) return f;
  }
  return {};
}

}  // namespace

std::string this_writer() {
  const long pid = long(getpid());
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  for (char* c = host; *c; ++c)
    if (*c == ' ') *c = '_';  // one word
  return boot_id() + " " + std::to_string(pid) + " " + start_time(pid) + " " + host;
}

std::string writer_text(std::string_view writer) {
  std::istringstream in{std::string(writer)};
  std::string boot, start, host;
  long pid = 0;
  if (!(in >> boot >> pid) || pid <= 0) return {};
  in >> start >> host;
  return "pid " + std::to_string(pid) + (host.empty() ? "" : " on " + host);
}

bool writer_alive(std::string_view writer) {
  std::istringstream in{std::string(writer)};
  std::string boot, start;
  long pid = 0;
  if (!(in >> boot >> pid) || pid <= 0) return false;
  in >> start;
  if (boot != boot_id()) return false;
  if (kill(pid_t(pid), 0) != 0 && errno != EPERM) return false;
  return start.empty() || start_time(pid) == start;
}

RunStatus run_status(std::string_view status, std::string_view writer) {
  if (status == "failed") return RunStatus::kFailed;
  if (status != "capturing") return RunStatus::kComplete;
  return writer_alive(writer) ? RunStatus::kCapturing : RunStatus::kInterrupted;
}

}  // namespace pathtrace::store_detail
