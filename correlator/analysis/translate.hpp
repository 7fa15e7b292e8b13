#pragma once
// Address translation between two points of a path (rule 9 of docs/verdicts.md): pairing a
// packet lost before a NAT hop with the one that appeared after it (translate.cpp).
// Library-internal.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "correlator/analysis/analysis.hpp"
#include "correlator/model/model.hpp"

namespace pathtrace::analyzer {

// Packets of one flow translated at one hop: their keys before and after it, in travel order.
struct TranslationGroup {
  std::vector<packet::FlowKey> before_keys, after_keys;  // Chain::ip, outermost first
  uint8_t from = 0, to = 0;                               // ords, in travel direction
  uint64_t digest = 0;                                    // one of its packets' digest before the hop
  std::string before, after;                              // what changed: "198.18.1.10" → "198.19.0.5"
  uint64_t packets = 0;                                   // packets paired across it
};

struct Translations {
  std::vector<TranslationGroup> groups;
  // Traversals (index into Run::traversals) seen after a translation, and the digest their
  // packet had before it.
  struct Renamed {
    uint32_t traversal;
    uint64_t digest;
  };
  std::vector<Renamed> renamed;
};

// The packets of `run` (an analysis without translations) that were lost right before a
// point where a packet with the same translation key (packet::translation_key), other
// addresses, appeared mid-path within opt.max_transit_ns: one to one, never guessed.
Translations find_translations(const Run& run, const AnalysisOptions& opt);

// What a translation changed, before and after: the address (and port, where it changed) of
// the end that changed, or both ends ("a → b") when both did.
std::pair<std::string, std::string> translation_text(const packet::FlowKey& before, const packet::FlowKey& after);

}  // namespace pathtrace::analyzer
