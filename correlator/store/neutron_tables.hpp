#pragma once
// The Neutron tables of a run (schema/0002_neutron.sql): inside the store only.

#include <cstdint>

#include "correlator/model/neutron.hpp"
#include "correlator/store/sqlite.hpp"

namespace pathtrace::store_detail {

// Replaces run `run_id`'s rows in neutron_discovery, neutron_points, counter_deltas and
// attributions with `ev`. In the caller's transaction (the run's own: a run and its
// explanation are committed together or not at all). Throws Error(kDatabase) on failure.
void write_neutron(sql::Db& db, int64_t run_id, const NeutronEvidence& ev);

}  // namespace pathtrace::store_detail
