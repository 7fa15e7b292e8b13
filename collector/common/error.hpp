#pragma once
// The one error type for configuration, open and start-up failures.
// Thrown with context ("point C: file C.pcap: truncated at byte 1234"), caught once in
// main() and mapped to a documented exit code (docs/cli.md). Packet bytes never throw.

#include <stdexcept>
#include <string>

namespace pathtrace {

// Process exit codes; documented in docs/cli.md. Keep the numbers stable.
enum class ExitCode : int {
  kOk = 0,          // finished; every judged flow delivered (or nothing to judge)
  kLoss = 1,        // finished; some flow lost packets (only where the command says so)
  kUsage = 2,       // bad command line: unknown option, bad point spec, duplicate label...
  kInput = 3,       // a capture file or inventory is missing, unreadable, truncated or not pcap
  kDatabase = 4,    // the SQLite file cannot be opened, written, or is from a newer pathtrace
  kCapture = 5,     // a live capture could not start (interface, namespace, privilege, filter)
  kRemote = 6,      // a remote host failed (ssh, pre-flight)
  kInternal = 70,   // a bug: an invariant did not hold
};

// An error a user can act on: what went wrong, with the point/file/argument at fault.
class Error : public std::runtime_error {
 public:
  Error(ExitCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ExitCode code() const noexcept { return code_; }

 private:
  ExitCode code_;
};

}  // namespace pathtrace
