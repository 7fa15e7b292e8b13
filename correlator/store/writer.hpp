#pragma once
// The live-writer bookkeeping (inside the store only). A capturing run records which process
// writes it in runs.writer, "<boot_id> <pid> <start time>"; a reader decides from that whether
// the run is still capturing or was interrupted (its writer is gone). Linux /proc only.

#include <string>
#include <string_view>

#include "correlator/store/store.hpp"

namespace pathtrace::store_detail {

// "<boot_id> <pid> <start time>" of this process: the runs.writer of the runs it captures
// (a part it cannot read from /proc is left empty).
std::string this_writer();

// Whether the process that wrote `writer` still runs: same boot, and a process with that pid
// and start time exists (a reused pid has another start time). Written on another machine
// (another boot id), or a `writer` that does not parse: false.
bool writer_alive(std::string_view writer);

// A run's status from its stored runs.status and runs.writer: anything but "capturing" is
// complete; a capturing run whose writer is gone is interrupted.
RunStatus run_status(std::string_view status, std::string_view writer);

}  // namespace pathtrace::store_detail
