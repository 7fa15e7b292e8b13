#pragma once
// The live-writer bookkeeping (inside the store only). A capturing run records which process
// writes it in runs.writer, "<boot_id> <pid> <start time> <host>"; a reader decides from that
// whether the run is still capturing or was interrupted (its writer is gone), and says which
// process it was. Linux /proc only.

#include <string>
#include <string_view>

#include "correlator/store/store.hpp"

namespace pathtrace::store_detail {

// "<boot_id> <pid> <start time> <host>" of this process: the runs.writer of the runs it
// captures (a part it cannot read is left empty).
std::string this_writer();

// The writer for a person: "pid 1234 on hv1" ("pid 1234" for a writer stored before schema 5,
// "" for one that does not parse).
std::string writer_text(std::string_view writer);

// Whether the process that wrote `writer` still runs: same boot, and a process with that pid
// and start time exists (a reused pid has another start time). Written on another machine
// (another boot id), or a `writer` that does not parse: false.
bool writer_alive(std::string_view writer);

// A run's status from its stored runs.status and runs.writer: "failed" is failed, anything
// else but "capturing" complete; a capturing run whose writer is gone is interrupted.
RunStatus run_status(std::string_view status, std::string_view writer);

}  // namespace pathtrace::store_detail
