#include "correlator/analysis/judge.hpp"

#include <algorithm>
#include <cstdlib>
#include <map>

#include "correlator/analysis/clocks.hpp"
#include "correlator/analysis/text.hpp"

namespace pathtrace {

Run judge(Collected in, const JudgeOptions& opt) {
  std::vector<std::string> clock_notes;
  std::vector<std::string> given_hosts;
  const bool several_hosts =
      std::any_of(in.points.begin(), in.points.end(),
                  [&](const Point& p) { return p.host != in.points.front().host; });
  std::vector<HostClockInfo> infos;
  if (opt.clocks && several_hosts) {
    // Hosts' clocks disagree: put every host's sightings on the clock of the first point's
    // host before traversals are grouped (hop order still comes from the path only).
    // Whether any point of `host` has a sighting.
    std::vector<bool> point_saw(in.points.size(), false);
    std::vector<HostClock> clocks;
    if (in.parts) {
      ClockEstimator estimate(in.points);
      std::vector<Sighting> range;
      for (unsigned part = 0; part < in.parts->count(); ++part) {
        in.parts->load(part, range);
        estimate.add(range);
        for (const Sighting& x : range)
          if (x.point < point_saw.size()) point_saw[x.point] = true;
      }
      clocks = estimate.finish();
    } else {
      clocks = estimate_clocks(in.points, in.sightings);
      for (const Sighting& x : in.sightings)
        if (x.point < point_saw.size()) point_saw[x.point] = true;
    }
    const auto ref_given = opt.given_offsets.find(clocks.front().host);
    const int64_t ref_lead = ref_given == opt.given_offsets.end() ? 0 : ref_given->second;
    // A given offset the packets contradict (measured both ways, well beyond its error): said.
    std::map<std::string, std::string> disagree;
    for (HostClock& hc : clocks) {
      const auto given = opt.given_offsets.find(hc.host);
      if (given == opt.given_offsets.end() || hc.reference) continue;
      const int64_t wanted = given->second - ref_lead;
      if (hc.known && hc.both_ways &&
          std::llabs(wanted - hc.offset_ns) > std::max<int64_t>(10'000'000, 10 * hc.error_ns))
        disagree[hc.host] = "; but " + text::u64(hc.samples) + " packets seen both ways put it " +
                            text::duration_text(hc.offset_ns) + (hc.offset_ns >= 0 ? " ahead" : " behind") +
                            " (±" + text::duration_text(hc.error_ns) + "): check the value given";
      hc.known = true;
      hc.both_ways = false;
      hc.offset_ns = wanted;
      hc.error_ns = 0;
      hc.samples = 0;
      given_hosts.push_back(hc.host);
    }
    auto host_saw = [&](const std::string& host) {
      for (std::size_t i = 0; i < in.points.size(); ++i)
        if (in.points[i].host == host && point_saw[i]) return true;
      return false;
    };
    std::vector<int64_t> shift = apply_clocks(clocks, in.points, in.sightings, &in.kept);
    if (in.parts) in.parts->shift_times(std::move(shift));
    for (const auto& hc : clocks) {
      HostClockInfo i;
      i.host = hc.host;
      i.reference = hc.reference;
      i.known = hc.known;
      i.offset_ns = hc.offset_ns;
      i.error_ns = hc.error_ns;
      i.samples = hc.samples;
      const bool given = std::find(given_hosts.begin(), given_hosts.end(), hc.host) != given_hosts.end();
      i.method = hc.reference ? "reference" : given ? "given" : !hc.known ? "unknown" : hc.both_ways ? "both ways" : "one way";
      infos.push_back(std::move(i));
      if (hc.reference) continue;
      // A host whose points saw nothing has no timestamp to put on any clock: nothing to say.
      if (!hc.known && !given && !host_saw(hc.host)) continue;
      clock_notes.push_back(given ? "clock of " + hc.host + " taken as " + text::duration_text(hc.offset_ns) +
                                        (hc.offset_ns >= 0 ? " ahead of " : " behind ") + clocks.front().host +
                                        " (--clock)" + disagree[hc.host]
                                  : describe(hc, clocks.front().host));
    }
  }
  Run run = in.parts ? analyze(std::move(in.points), std::move(in.chains), *in.parts, opt.analysis)
                     : analyze(std::move(in.points), std::move(in.chains), std::move(in.sightings),
                               std::move(in.scratch), opt.analysis);
  in.parts.reset();
  run.kept = std::move(in.kept);
  // Kept frames follow their sightings to the digest before a translation.
  if (!run.renamed.empty())
    for (KeptFrame& f : run.kept.frames)
      if (const auto it = run.renamed.find(f.digest); it != run.renamed.end()) f.digest = it->second;
  run.report.clocks = std::move(infos);
  for (auto& w : in.warnings) run.report.warnings.push_back(std::move(w));
  for (auto& w : clock_notes) run.report.warnings.push_back(std::move(w));
  return run;
}

}  // namespace pathtrace
