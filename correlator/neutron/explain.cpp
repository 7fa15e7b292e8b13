#include "correlator/neutron/explain.hpp"

#include <nlohmann/json.hpp>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <functional>
#include <limits>
#include <map>
#include <set>

#include "collector/common/error.hpp"

namespace pathtrace::neutron {
namespace {

using nlohmann::json;


std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Splits an iptables-save rule into words; a double-quoted word keeps its spaces.
std::vector<std::string> words(std::string_view s) {
  std::vector<std::string> w;
  std::string cur;
  bool quoted = false, any = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (quoted) {
      if (c == '\\' && i + 1 < s.size()) {
        cur += s[++i];
      } else if (c == '"') {
        quoted = false;
      } else {
        cur += c;
      }
    } else if (c == '"') {
      quoted = any = true;
    } else if (c == ' ' || c == '\t') {
      if (any) w.push_back(std::move(cur));
      cur.clear();
      any = false;
    } else {
      cur += c;
      any = true;
    }
  }
  if (any) w.push_back(std::move(cur));
  return w;
}

bool parse_u64(std::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (std::numeric_limits<uint64_t>::max() - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

// "[12:345]" → packets, bytes.
bool parse_counters(std::string_view s, uint64_t* p, uint64_t* b) {
  if (s.size() < 5 || s.front() != '[' || s.back() != ']') return false;
  s = s.substr(1, s.size() - 2);
  const auto colon = s.find(':');
  return colon != std::string_view::npos && parse_u64(s.substr(0, colon), p) &&
         parse_u64(s.substr(colon + 1), b);
}

std::string key_of(const RuleCounter& r) {
  return r.layer + '\x1f' + r.table + '\x1f' + r.chain + '\x1f' + r.rule;
}

// Neutron's per-port chain: neutron-<agent>-<i|o><10 characters of the port UUID>.
bool per_port_chain(std::string_view chain, char* direction, std::string* id) {
  if (!std::string_view(chain).starts_with("neutron-")) return false;
  const auto dash = chain.find('-', 8);
  if (dash == std::string_view::npos) return false;
  const std::string_view rest = chain.substr(dash + 1);
  if (rest.size() != 11 || (rest[0] != 'i' && rest[0] != 'o')) return false;
  const std::string_view uid = rest.substr(1);
  for (std::size_t i = 0; i < uid.size(); ++i) {
    const bool ok = i == 8 ? uid[i] == '-' : std::isxdigit(static_cast<unsigned char>(uid[i])) != 0;
    if (!ok) return false;
  }
  *direction = rest[0];
  *id = std::string(uid);
  return true;
}

bool is_drop_verdict(const RuleCounter& r) {
  if (r.layer == "openflow") return r.target == "drop";
  if (r.index == 0) return r.target == "DROP" || r.target == "drop";
  return r.target == "DROP" || r.target == "REJECT" || r.target == "drop" || r.target == "reject";
}

}  // namespace

std::string_view ip_proto_name(int proto) noexcept {
  switch (proto) {
    case 1: return "ICMP";
    case 2: return "IGMP";
    case 4: return "IPIP";
    case 6: return "TCP";
    case 17: return "UDP";
    case 41: return "IPv6-in-IPv4";
    case 47: return "GRE";
    case 50: return "ESP";
    case 51: return "AH";
    case 58: return "ICMPv6";
    case 112: return "VRRP";
    case 132: return "SCTP";
    default: return "";
  }
}

// ---------------------------------------------------------------------------------------------
// Parsing.

std::vector<RuleCounter> parse_iptables_save(std::string_view text, std::string_view layer) {
  std::vector<RuleCounter> out;
  std::string table;
  std::map<std::string, int> next_index;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    std::string_view line = trim(text.substr(0, nl));
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (line.empty() || line.front() == '#') continue;
    if (line.front() == '*') {
      table = std::string(line.substr(1));
      next_index.clear();
      continue;
    }
    if (line == "COMMIT") continue;
    if (line.front() == ':') {  // ":CHAIN POLICY [p:b]"
      const auto w = words(line.substr(1));
      if (w.empty()) continue;
      RuleCounter r;
      r.layer = std::string(layer);
      r.table = table;
      r.chain = w[0];
      r.index = 0;
      r.target = w.size() > 1 ? w[1] : "-";
      r.rule = ":" + w[0] + " " + r.target;
      if (w.size() > 2) parse_counters(w[2], &r.packets, &r.bytes);
      out.push_back(std::move(r));
      continue;
    }
    RuleCounter r;
    r.layer = std::string(layer);
    r.table = table;
    if (line.front() == '[') {
      const auto sp = line.find(' ');
      if (sp == std::string_view::npos || !parse_counters(line.substr(0, sp), &r.packets, &r.bytes))
        continue;
      line = trim(line.substr(sp + 1));
    }
    if (!std::string_view(line).starts_with("-A ")) continue;
    const auto w = words(line);
    if (w.size() < 2) continue;
    r.chain = w[1];
    r.index = ++next_index[r.chain];
    r.rule = std::string(line);
    for (std::size_t i = 2; i + 1 < w.size(); ++i) {
      if (w[i] == "-j" || w[i] == "--jump" || w[i] == "-g" || w[i] == "--goto") {
        r.target = w[i + 1];
        r.is_goto = w[i] == "-g" || w[i] == "--goto";
      }
    }
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<RuleCounter> parse_ofctl_flows(std::string_view text, std::string_view bridge) {
  static const std::set<std::string, std::less<>> kStats = {
      "cookie", "duration", "table", "n_packets", "n_bytes", "idle_age", "hard_age"};
  std::vector<RuleCounter> out;
  std::map<std::string, int> next_index;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    std::string_view line = trim(text.substr(0, nl));
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (!std::string_view(line).starts_with("cookie=")) continue;
    const auto act = line.find("actions=");
    if (act == std::string_view::npos) continue;
    RuleCounter r;
    r.layer = "openflow";
    r.table = std::string(bridge);
    const std::string actions(trim(line.substr(act + 8)));
    std::string_view head = line.substr(0, act);
    std::string table = "0", cookie, match;
    while (!head.empty()) {
      const auto sep = head.find(", ");
      std::string_view item = trim(head.substr(0, sep));
      head.remove_prefix(sep == std::string_view::npos ? head.size() : sep + 2);
      const auto eq = item.find('=');
      const std::string_view key = item.substr(0, eq);
      const std::string_view val = eq == std::string_view::npos ? "" : item.substr(eq + 1);
      if (kStats.count(key) && sep != std::string_view::npos) {
        if (key == "table") table = std::string(val);
        else if (key == "cookie") cookie = std::string(val);
        else if (key == "n_packets") parse_u64(val, &r.packets);
        else if (key == "n_bytes") parse_u64(val, &r.bytes);
      } else {
        match += (match.empty() ? "" : ",") + std::string(item);
      }
    }
    r.chain = "table=" + table;
    r.index = ++next_index[r.chain];
    r.rule = (cookie.empty() || cookie == "0x0" ? "" : "cookie=" + cookie + ", ") + "table=" + table +
             ", " + (match.empty() ? "" : match + " ") + "actions=" + actions;
    r.target = actions == "drop" || actions.empty() ? "drop" : actions;
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<RuleCounter> parse_nft_json(std::string_view text, bool skip_xtables) {
  static const std::set<std::string, std::less<>> kXtables = {"filter", "nat", "mangle", "raw",
                                                              "security"};
  std::vector<RuleCounter> out;
  const json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("nftables") || !j["nftables"].is_array())
    return out;
  std::map<std::string, int> next_index;
  for (const auto& item : j["nftables"]) {
    if (!item.is_object()) continue;
    const bool is_chain = item.contains("chain"), is_rule = item.contains("rule");
    if (!is_chain && !is_rule) continue;
    const json& o = is_chain ? item["chain"] : item["rule"];
    if (!o.is_object()) continue;
    const std::string family = o.value("family", ""), table = o.value("table", "");
    if (skip_xtables && (family == "ip" || family == "ip6") && kXtables.count(table)) continue;
    RuleCounter r;
    r.layer = "nft";
    r.table = family + " " + table;
    if (is_chain) {
      r.chain = o.value("name", "");
      r.index = 0;
      r.target = o.contains("hook") ? (o.value("policy", "accept") == "drop" ? "DROP" : "ACCEPT") : "-";
      r.rule = "chain " + r.chain;
      out.push_back(std::move(r));
      continue;
    }
    r.chain = o.value("chain", "");
    if (!o.contains("expr") || !o["expr"].is_array()) continue;
    bool counter = false;
    for (const auto& e : o["expr"]) {
      if (!e.is_object()) continue;
      if (e.contains("counter") && e["counter"].is_object()) {
        counter = true;
        r.packets = e["counter"].value("packets", uint64_t{0});
        r.bytes = e["counter"].value("bytes", uint64_t{0});
      } else if (e.contains("drop")) {
        r.target = "drop";
      } else if (e.contains("reject")) {
        r.target = "reject";
      } else if (e.contains("accept")) {
        r.target = "accept";
      } else if (e.contains("jump") && e["jump"].is_object()) {
        r.target = e["jump"].value("target", "");
      } else if (e.contains("goto") && e["goto"].is_object()) {
        r.target = e["goto"].value("target", "");
        r.is_goto = true;
      }
    }
    r.index = ++next_index[r.table + " " + r.chain];
    json expr = o["expr"];
    for (auto& e : expr)  // the rule's identity must not change with its counter
      if (e.is_object() && e.contains("counter")) e["counter"] = nullptr;
    r.rule = "nft " + r.table + " " + r.chain + " " + expr.dump();
    if (counter) out.push_back(std::move(r));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Snapshot (the only part that runs commands).

ExplainSnapshot snapshot(const ExplainTarget& t) {
  if (!t.remote && !t.netns.empty() && access(("/run/netns/" + t.netns).c_str(), F_OK) != 0)
    throw Error(ExitCode::kCapture, "netns " + t.netns + ": no such network namespace");
  ExplainSnapshot s;
  auto read = [&](const std::vector<std::string>& argv, const std::string& what) -> std::string {
    if (!t.remote && !have_tool(argv[0])) {  // remote: the command's own failure says it
      s.warnings.push_back(what + ": " + argv[0] + " not found in PATH");
      return {};
    }
    CommandResult r = run_command(on_host(t.remote, t.netns, argv));
    if (r.exit_code != 0) {
      while (!r.err.empty() && r.err.back() == '\n') r.err.pop_back();
      s.warnings.push_back(what + ": " + argv[0] + " exit " + std::to_string(r.exit_code) +
                           (r.err.empty() ? "" : ": " + r.err));
      return {};
    }
    s.layers.push_back(what);
    return std::move(r.out);
  };
  bool have_xtables = false;
  for (const char* layer : {"iptables", "ip6tables"}) {
    const std::string tool = std::string(layer) + "-save";
    const std::string text = read({tool, "-c"}, layer);
    auto rules = parse_iptables_save(text, layer);
    have_xtables = have_xtables || !rules.empty();
    s.rules.insert(s.rules.end(), rules.begin(), rules.end());
  }
  if (t.remote || have_tool("nft")) {
    auto rules = parse_nft_json(read({"nft", "-j", "list", "ruleset"}, "nft"), have_xtables);
    s.rules.insert(s.rules.end(), rules.begin(), rules.end());
  }
  if (!t.bridges.empty()) {
    // OVS pushes datapath statistics to the OpenFlow counters every ~0.5 s (revalidators):
    // right after the traffic they lag. Dump until two dumps agree (or settle_ms passes).
    const OvsAccess ovs = OvsAccess::from(t.ovs_db);
    const std::size_t layers_before = s.layers.size();
    auto dump_all = [&] {
      s.layers.resize(layers_before);
      std::vector<RuleCounter> all;
      for (const auto& br : t.bridges) {
        auto rules = parse_ofctl_flows(
            read({"ovs-ofctl", "dump-flows", ovs.ofctl_target(br)}, "openflow " + br), br);
        all.insert(all.end(), rules.begin(), rules.end());
      }
      return all;
    };
    const auto same = [](const std::vector<RuleCounter>& a, const std::vector<RuleCounter>& b) {
      if (a.size() != b.size()) return false;
      for (std::size_t i = 0; i < a.size(); ++i)
        if (a[i].rule != b[i].rule || a[i].packets != b[i].packets) return false;
      return true;
    };
    const std::size_t warnings_before = s.warnings.size();
    std::vector<RuleCounter> flows = dump_all();
    for (int waited = 0; waited < t.settle_ms && s.warnings.size() == warnings_before;) {
      usleep(600 * 1000);  // > the revalidators' 500 ms period
      waited += 600;
      std::vector<RuleCounter> again = dump_all();
      const bool stable = same(flows, again);
      flows = std::move(again);
      if (stable) break;
    }
    s.rules.insert(s.rules.end(), flows.begin(), flows.end());
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// Diff and attribution (pure).

std::vector<CounterDelta> diff(const ExplainSnapshot& before, const ExplainSnapshot& after) {
  std::map<std::string, std::vector<const RuleCounter*>> old;
  for (const auto& r : before.rules) old[key_of(r)].push_back(&r);
  std::map<std::string, std::size_t> seen;
  std::vector<CounterDelta> out;
  for (const auto& r : after.rules) {
    const std::string k = key_of(r);
    const std::size_t n = seen[k]++;
    const auto it = old.find(k);
    const RuleCounter* b = it != old.end() && n < it->second.size() ? it->second[n] : nullptr;
    CounterDelta d;
    d.rule = r;
    if (b && r.packets >= b->packets) {
      d.packets = r.packets - b->packets;
      d.bytes = r.bytes >= b->bytes ? r.bytes - b->bytes : r.bytes;
    } else {
      d.packets = r.packets;  // new rule, or counters reset in between
      d.bytes = r.bytes;
    }
    if (d.packets > 0) out.push_back(std::move(d));
  }
  std::stable_sort(out.begin(), out.end(), [](const CounterDelta& a, const CounterDelta& b) {
    return std::tie(a.rule.layer, a.rule.table, a.rule.chain, a.rule.index) <
           std::tie(b.rule.layer, b.rule.table, b.rule.chain, b.rule.index);
  });
  return out;
}

std::string Attribution::path_text() const {
  std::string s;
  for (const auto& c : path) s += (s.empty() ? "" : " → ") + c;
  return s + ": " + verdict;
}

namespace {

struct ChainPath {
  std::vector<std::string> chains;
  uint64_t bottleneck = std::numeric_limits<uint64_t>::max();
};

// All ways to reach `chain` from a built-in (base) chain through jumps whose counters grew.
void walk_back(const std::string& chain, const std::vector<CounterDelta>& jumps,
               const std::set<std::string>& base_chains, std::vector<std::string>& stack,
               uint64_t bottleneck, std::vector<ChainPath>& out) {
  if (stack.size() > 16 || out.size() > 64) return;
  if (std::find(stack.begin(), stack.end(), chain) != stack.end()) return;  // a loop
  stack.push_back(chain);
  if (base_chains.count(chain)) {
    ChainPath p;
    p.chains.assign(stack.rbegin(), stack.rend());
    p.bottleneck = bottleneck;
    out.push_back(std::move(p));
  }
  for (const auto& j : jumps)
    if (j.rule.target == chain)
      walk_back(j.rule.chain, jumps, base_chains, stack, std::min(bottleneck, j.packets), out);
  stack.pop_back();
}

std::string suggestion_for(const Attribution& a, const FlowHint& flow, std::string* rendered) {
  const bool v6 = flow.ip_version == 6;
  const std::string ether = v6 ? "IPv6" : "IPv4";
  const std::string any = v6 ? "::/0" : "0.0.0.0/0";
  const std::string dir = a.direction.empty() ? "ingress" : a.direction;
  if (flow.proto < 0) {
    *rendered = "";
    return dir + ", " + ether + ": a rule matching the lost traffic (its protocol is unknown here)";
  }
  const std::string name(ip_proto_name(flow.proto));
  std::string what = dir + ", " + ether + ", protocol " + std::to_string(flow.proto) +
                     (name.empty() ? "" : " (" + name + ")");
  std::string match = "-p " + std::to_string(flow.proto);
  std::string cli = "openstack security group rule create --" + dir + " --ethertype " + ether +
                    " --protocol " + std::to_string(flow.proto);
  if ((flow.proto == 6 || flow.proto == 17) && flow.dport >= 0) {
    const std::string p = flow.proto == 6 ? "tcp" : "udp";
    what += ", port " + std::to_string(flow.dport);
    match = "-p " + p + " -m " + p + " --dport " + std::to_string(flow.dport);
    cli = "openstack security group rule create --" + dir + " --ethertype " + ether +
          " --protocol " + p + " --dst-port " + std::to_string(flow.dport);
  }
  const std::string remote = dir == "ingress" ? flow.src : flow.dst;
  what += ", " + any;
  cli += " --remote-ip " + any + " SECURITY_GROUP";
  if (!remote.empty()) what += " (or " + remote + (v6 ? "/128" : "/32") + " for that peer only)";
  *rendered = a.port_chain.empty() ? "" : "-A " + a.port_chain + " " + match + " -j RETURN";
  return what + " — " + cli;
}

}  // namespace

std::vector<Attribution> explain(const ExplainSnapshot& before, const ExplainSnapshot& after,
                                 uint64_t lost_packets, const FlowHint& flow) {
  std::vector<Attribution> out;
  if (lost_packets == 0) return out;
  const uint64_t tol = std::max<uint64_t>(2, lost_packets / 20);
  const std::vector<CounterDelta> deltas = diff(before, after);
  const std::string port_id = flow.port_uuid.substr(0, std::min<std::size_t>(10, flow.port_uuid.size()));

  // Per (layer, table): base chains and the jumps that grew.
  std::map<std::string, std::set<std::string>> bases;
  for (const auto& r : after.rules)
    if (r.index == 0 && r.target != "-") bases[r.layer + " " + r.table].insert(r.chain);
  std::map<std::string, std::vector<CounterDelta>> jumps;
  for (const auto& d : deltas) {
    const auto& r = d.rule;
    if (r.layer == "openflow" || r.index == 0 || r.target.empty()) continue;
    if (r.target == "ACCEPT" || r.target == "DROP" || r.target == "REJECT" || r.target == "RETURN" ||
        r.target == "accept" || r.target == "drop" || r.target == "reject")
      continue;
    jumps[r.layer + " " + r.table].push_back(d);
  }

  for (const auto& d : deltas) {
    if (!is_drop_verdict(d.rule)) continue;
    const std::string lt = d.rule.layer + " " + d.rule.table;
    std::vector<ChainPath> paths;
    if (d.rule.layer == "openflow") {
      ChainPath p;
      p.chains = {d.rule.chain};
      paths.push_back(std::move(p));
    } else {
      std::vector<std::string> stack;
      walk_back(d.rule.chain, jumps[lt], bases[lt], stack, std::numeric_limits<uint64_t>::max(),
                paths);
      if (paths.empty()) {  // not reached through grown jumps: show the chain alone
        ChainPath p;
        p.chains = {d.rule.chain};
        paths.push_back(std::move(p));
      }
    }
    for (const auto& p : paths) {
      Attribution a;
      a.layer = d.rule.layer;
      a.table = d.rule.table;
      a.path = p.chains;
      a.rule = d.rule.rule;
      a.verdict = d.rule.index == 0 ? "policy " + d.rule.target : d.rule.target;
      a.rule_packets = d.packets;
      a.packets = std::min(p.bottleneck, d.packets);
      bool other_port = false;
      for (const auto& c : p.chains) {
        char dir = 0;
        std::string id;
        if (!per_port_chain(c, &dir, &id)) continue;
        if (!port_id.empty() && !std::string_view(port_id).starts_with(id) && !std::string_view(id).starts_with(port_id)) other_port = true;
        a.port_chain = c;
        a.direction = dir == 'i' ? "ingress" : "egress";
      }
      if (d.rule.layer == "openflow") {  // Neutron's native OVS firewall tables
        if (d.rule.chain == "table=81" || d.rule.chain == "table=82") a.direction = "ingress";
        if (d.rule.chain == "table=71" || d.rule.chain == "table=72") a.direction = "egress";
      }
      if (other_port) continue;
      const uint64_t off = a.packets > lost_packets ? a.packets - lost_packets : lost_packets - a.packets;
      if (off > tol) continue;
      if (!a.port_chain.empty() || !a.direction.empty())
        a.suggestion = suggestion_for(a, flow, &a.suggested_rule);
      out.push_back(std::move(a));
    }
  }
  // Two jump rules between the same chains (physdev-in and -out) give the same chain path:
  // keep the one closest to the loss.
  const auto off = [&](const Attribution& a) {
    return a.packets > lost_packets ? a.packets - lost_packets : lost_packets - a.packets;
  };
  std::map<std::string, std::size_t> best;
  std::vector<Attribution> unique;
  for (auto& a : out) {
    const std::string k = a.layer + '\x1f' + a.table + '\x1f' + a.rule + '\x1f' + a.path_text();
    const auto it = best.find(k);
    if (it == best.end()) {
      best[k] = unique.size();
      unique.push_back(std::move(a));
    } else if (off(a) < off(unique[it->second])) {
      unique[it->second] = std::move(a);
    }
  }
  out = std::move(unique);
  std::stable_sort(out.begin(), out.end(), [&](const Attribution& x, const Attribution& y) {
    if (off(x) != off(y)) return off(x) < off(y);
    return !x.port_chain.empty() && y.port_chain.empty();
  });
  return out;
}

std::string render(const std::vector<Attribution>& attributions, uint64_t lost_packets,
                   const ExplainSnapshot& after) {
  std::string layers;
  for (const auto& l : after.layers) layers += (layers.empty() ? "" : ", ") + l;
  std::string s;
  if (lost_packets == 0) return "explain: nothing lost, nothing to attribute\n";
  if (attributions.empty()) {
    s = "explain: no filtering rule's counter grew by about " + std::to_string(lost_packets) +
        " packets (" + (layers.empty() ? "no layer could be read" : layers) +
        "): the loss is not a firewall drop there\n";
  } else {
    s = "explain: " + std::to_string(lost_packets) + " packets lost; dropped by:\n";
    for (const auto& a : attributions) {
      s += "  " + a.layer + (a.table.empty() ? "" : " " + a.table) + ": " + a.path_text() + "  +" +
           std::to_string(a.packets) + " packets\n";
      s += "    rule: " + a.rule + "\n";
      if (!a.port_chain.empty())
        s += "    per-port chain " + a.port_chain + " (" + a.direction + ") sent " +
             std::to_string(a.packets) + " of them there" +
             (a.rule_packets != a.packets
                  ? " (the rule's counter grew by " + std::to_string(a.rule_packets) +
                        ": its chain is shared by every port)"
                  : "") +
             "\n";
      if (a.layer == "openflow" && !a.direction.empty())
        s += "    " + a.path.back() + " of Neutron's native OVS firewall holds the " + a.direction +
             " rules (72 egress, 82 ingress): no security group rule matched\n";
      if (!a.suggestion.empty()) {
        s += "    to let it in, add a security group rule: " + a.suggestion + "\n";
        if (!a.suggested_rule.empty()) s += "    Neutron renders it as: " + a.suggested_rule + "\n";
      }
    }
  }
  for (const auto& w : after.warnings) s += "  (not read: " + w + ")\n";
  return s;
}

// ---------------------------------------------------------------------------------------------
// Evidence for the store.

NeutronEvidence evidence_of(const Discovery* discovery, const std::vector<CounterDelta>& deltas,
                            const std::vector<Attribution>& attributions) {
  NeutronEvidence ev;
  if (discovery) {
    NeutronEvidence::Discovery d;
    d.port = discovery->port;
    d.layout = discovery->layout == Layout::kHybrid      ? "hybrid"
               : discovery->layout == Layout::kOvsNative ? "ovs-native"
                                                         : "linuxbridge";
    d.netns = discovery->netns;
    d.bridges = discovery->bridges;
    d.notes = discovery->notes;
    for (const auto& p : discovery->points) d.points.push_back({p.label, p.role, p.host, p.netns, p.iface, p.what});
    ev.discovery = std::move(d);
  }
  for (const auto& x : deltas)
    ev.deltas.push_back({x.rule.layer, x.rule.table, x.rule.chain, x.rule.index, x.rule.rule, x.rule.target,
                         x.packets, x.bytes});
  for (const auto& a : attributions)
    ev.blamed.push_back({a.layer, a.table, a.path_text(), a.rule, a.verdict, a.packets, a.rule_packets,
                         a.port_chain, a.direction, a.suggestion, a.suggested_rule});
  return ev;
}

}  // namespace pathtrace::neutron
