// The Neutron tables of a run (neutron_tables.hpp): Run::neutron written into
// neutron_discovery, neutron_points, counter_deltas and attributions, in the transaction of
// the run it belongs to.

#include "correlator/store/neutron_tables.hpp"

#include <string>

namespace pathtrace::store_detail {

void write_neutron(sql::Db& db, int64_t run_id, const NeutronEvidence& ev) {
  for (const char* t : {"neutron_points", "neutron_discovery", "counter_deltas", "attributions"}) {
    sql::Stmt del(db, std::string("DELETE FROM ") + t + " WHERE run_id = ?1");
    del.bind(1, run_id).run();
  }
  if (const auto& d = ev.discovery) {
    std::string bridges, notes;
    for (const auto& b : d->bridges) bridges += (bridges.empty() ? "" : " ") + b;
    for (const auto& n : d->notes) notes += n + "\n";
    sql::Stmt ins(db, "INSERT INTO neutron_discovery (run_id, port, layout, netns, bridges, notes) "
                      "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    ins.bind(1, run_id).bind_text(2, d->port).bind_text(3, d->layout).bind_text(4, d->netns)
        .bind_text(5, bridges).bind_text(6, notes).run();
    sql::Stmt pt(db, "INSERT INTO neutron_points (run_id, ord, label, role, host, netns, iface, what) "
                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
    for (std::size_t i = 0; i < d->points.size(); ++i) {
      const auto& p = d->points[i];
      pt.reset().bind(1, run_id).bind(2, static_cast<int64_t>(i)).bind_text(3, p.label)
          .bind_text(4, p.role).bind_text(5, p.host).bind_text(6, p.netns).bind_text(7, p.iface)
          .bind_text(8, p.what);
      pt.run();
    }
  }
  sql::Stmt cd(db, "INSERT INTO counter_deltas (run_id, id, layer, tbl, chain, rule_index, rule, "
                   "target, packets, bytes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
  for (std::size_t i = 0; i < ev.deltas.size(); ++i) {
    const auto& c = ev.deltas[i];
    cd.reset().bind(1, run_id).bind(2, static_cast<int64_t>(i + 1)).bind_text(3, c.layer)
        .bind_text(4, c.table).bind_text(5, c.chain).bind(6, int64_t{c.index})
        .bind_text(7, c.rule).bind_text(8, c.target)
        .bind(9, static_cast<int64_t>(c.packets)).bind(10, static_cast<int64_t>(c.bytes));
    cd.run();
  }
  sql::Stmt at(db, "INSERT INTO attributions (run_id, rank, layer, tbl, chain_path, rule, verdict, "
                   "packets, rule_packets, port_chain, direction, suggestion, suggested_rule) "
                   "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)");
  for (std::size_t i = 0; i < ev.blamed.size(); ++i) {
    const auto& a = ev.blamed[i];
    at.reset().bind(1, run_id).bind(2, static_cast<int64_t>(i + 1)).bind_text(3, a.layer)
        .bind_text(4, a.table).bind_text(5, a.chain_path).bind_text(6, a.rule).bind_text(7, a.verdict)
        .bind(8, static_cast<int64_t>(a.packets)).bind(9, static_cast<int64_t>(a.rule_packets))
        .bind_text(10, a.port_chain).bind_text(11, a.direction).bind_text(12, a.suggestion)
        .bind_text(13, a.suggested_rule);
    at.run();
  }
}

}  // namespace pathtrace::store_detail
