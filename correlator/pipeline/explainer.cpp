#include "correlator/pipeline/explainer.hpp"

#include <algorithm>
#include <sstream>

#include "collector/common/error.hpp"
#include "correlator/report/render.hpp"

namespace pathtrace::pipeline {

using inventory::Host;
using inventory::is_local;

Explainer::Explainer(const std::vector<Point>& points, const std::string& ovs_db,
                     const std::map<std::string, Host>& hosts) {
  // Remote points' counters are read over ssh, as their captures are.
  auto remote_of = [&](const Point& p) -> std::optional<Host> {
    if (is_local(p)) return std::nullopt;
    return inventory::host_for(hosts, p.host);
  };
  // A Neutron tap among the points names the port: discover its bridges and chains.
  for (const Point& p : points) {
    if (p.iface.rfind("tap", 0) != 0 || p.iface.size() != 14) continue;
    neutron::DiscoverRequest dq;
    dq.tap = p.iface;
    dq.netns = p.netns;
    dq.ovs_db = ovs_db;
    dq.remote = remote_of(p);
    try {
      discovery_ = neutron::discover_path(dq, neutron::gather_facts(dq));
      discovery_host_ = p.host;
    } catch (const Error& e) {
      notes_.push_back(std::string("explain: could not discover the Neutron port of ") + p.iface + ": " + e.what());
    }
    break;
  }
  for (const Point& p : points) {
    const std::string host = is_local(p) ? "local" : p.host;
    where_[p.label] = {host, p.netns};  // the report's points carry the collectors' host names
    if (std::any_of(targets_.begin(), targets_.end(),
                    [&](const neutron::ExplainTarget& t) { return t.netns == p.netns && host_of(t) == host; }))
      continue;
    neutron::ExplainTarget t;
    t.netns = p.netns;
    t.ovs_db = ovs_db;
    t.remote = remote_of(p);
    if (discovery_ && discovery_->netns == p.netns && discovery_host_ == p.host) t.bridges = discovery_->bridges;
    targets_.push_back(std::move(t));
  }
}

std::string Explainer::host_of(const neutron::ExplainTarget& t) { return t.remote ? t.remote->name : "local"; }

void Explainer::snap(std::vector<neutron::ExplainSnapshot>& into) {
  into.clear();
  for (const auto& t : targets_) into.push_back(neutron::snapshot(t));
}

NeutronEvidence Explainer::attribute(Run& run) {
  Report& rep = run.report;
  std::vector<neutron::Attribution> all;
  std::vector<neutron::CounterDelta> deltas;
  const std::size_t n = std::min({targets_.size(), before_.size(), after_.size()});
  for (std::size_t i = 0; i < n; ++i) {
    auto d = neutron::diff(before_[i], after_[i]);
    deltas.insert(deltas.end(), d.begin(), d.end());
  }
  for (std::size_t k = 0; k < run.results.size(); ++k) {
    FlowResult* whole = run.results.whole(k);  // a lost flow's result is never packed
    if (!whole) continue;
    FlowResult& r = *whole;
    if (r.verdict != VerdictKind::kDisappears && r.verdict != VerdictKind::kPartialLoss) continue;
    if (r.hop < 0 || std::size_t(r.hop) >= r.hops.size()) continue;
    const HopStat& hop = r.hops[std::size_t(r.hop)];
    const Flow& f = rep.flows.at(r.flow - 1);
    neutron::FlowHint hint;
    hint.ip_version = f.key.version;
    hint.proto = f.key.proto;
    hint.src = report::address_text(f.key, f.key.src);
    hint.dst = report::address_text(f.key, f.key.dst);
    // A port, not an ICMP echo's identifier (which the key carries as its ports).
    if (f.key.dport && (f.key.proto == 6 || f.key.proto == 17 || f.key.proto == 132)) hint.dport = f.key.dport;
    if (discovery_) hint.port_uuid = discovery_->port;
    // The namespaces of the hop's two points hold the layers that could have dropped.
    auto on_hop = [&](const neutron::ExplainTarget& t) {
      for (const Point* p : {&rep.points[hop.from], &rep.points[hop.to]}) {
        const auto it = where_.find(p->label);
        if (it != where_.end() && it->second == std::make_pair(host_of(t), t.netns)) return true;
      }
      return false;
    };
    neutron::ExplainSnapshot b, a;
    for (std::size_t i = 0; i < n; ++i) {
      if (!on_hop(targets_[i])) continue;
      b.rules.insert(b.rules.end(), before_[i].rules.begin(), before_[i].rules.end());
      a.rules.insert(a.rules.end(), after_[i].rules.begin(), after_[i].rules.end());
      a.layers.insert(a.layers.end(), after_[i].layers.begin(), after_[i].layers.end());
      a.warnings.insert(a.warnings.end(), after_[i].warnings.begin(), after_[i].warnings.end());
    }
    all = neutron::explain(b, a, hop.lost, hint);
    std::istringstream text(neutron::render(all, hop.lost, a));
    for (std::string line; std::getline(text, line);)
      if (!line.empty()) r.findings.push_back(line);  // render() starts with "explain:"
    break;  // the headline flow only
  }
  run.list_results(kListedResults);  // the report's copies of the results, with the new findings
  for (const auto& note : notes_) rep.warnings.push_back(note);
  return neutron::evidence_of(discovery_ ? &*discovery_ : nullptr, deltas, all);
}

}  // namespace pathtrace::pipeline
