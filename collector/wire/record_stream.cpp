#include "collector/wire/record_stream.hpp"

#include <algorithm>

namespace pathtrace::wire {

void RecordStream::intern(const packet::Parsed& p) {
  const uint64_t h = packet::chain_hash(p);
  const auto [id, fresh] = chains_.find_or_add(h, [&](uint32_t known) { return chains_.hash(known) == h; });
  if (fresh) {
    ChainEntry c;
    c.id = id;
    c.stack = packet::stack_string(p);
    c.ip.assign(p.ip.begin(), p.ip.begin() + p.n_ip);
    enc_.chain(c);  // precedes every RECORDS frame that can use it
  }
  // What same_chain() compares, not the whole Parsed.
  last_.n_layers = p.n_layers;
  last_.n_ip = p.n_ip;
  last_.layers = p.layers;
  std::copy_n(p.ip.begin(), p.n_ip, last_.ip.begin());
  last_chain_ = id;
}

std::size_t RecordStream::flush() {
  const std::size_t n = pending_.size();
  if (n == 0) return 0;
  enc_.records(seq_, pending_);
  if (keep_) enc_.kept(seq_, kept_lens_, kept_data_);
  seq_ += n;
  pending_.clear();
  kept_lens_.clear();
  kept_data_.clear();
  return n;
}

}  // namespace pathtrace::wire
