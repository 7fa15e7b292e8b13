// A classic pcap stream parsed as it arrives. See stream.hpp.

#include "collector/pcapfile/stream.hpp"

#include <utility>

namespace pathtrace::pcapfile {

void StreamParser::feed(std::span<const uint8_t> bytes) {
  if (ended_ || !error_.empty()) return;
  if (pos_ > 0) {  // drop what next() has returned: less than one record is left
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(pos_));
    consumed_ += pos_;
    pos_ = 0;
  }
  buf_.insert(buf_.end(), bytes.begin(), bytes.end());
}

StreamParser::Result StreamParser::fail(std::string why) {
  error_ = std::move(why);
  return Result::kError;
}

StreamParser::Result StreamParser::next(Packet& out) {
  if (!error_.empty()) return Result::kError;
  const std::span<const uint8_t> unread(buf_.data() + pos_, buf_.size() - pos_);
  if (!has_header_) {
    // The magic is judged on 4 bytes (or all there are at the end), so that the error text
    // does not depend on how the stream was cut into chunks.
    if (unread.size() < 4 && !ended_) return Result::kNeedMore;
    if (unread.empty()) return Result::kEnd;  // ended before any byte
    switch (decode_header(unread, header_)) {
      case Decode::kCorrupt:
        return fail(not_a_capture_message("pcap", "stream", unread));
      case Decode::kNeedMore:
        return ended_ ? fail(header_cut_message("stream", unread.size())) : Result::kNeedMore;
      case Decode::kOk:
        break;
    }
    has_header_ = true;
    pos_ += kPcapHeaderLen;
    return next(out);
  }
  switch (decode_record(header_, unread, out)) {
    case Decode::kOk:
      pos_ += kPcapRecordHeaderLen + out.data.size();
      ++records_;
      return Result::kPacket;
    case Decode::kCorrupt:
      return fail(corrupt_record_message(header_, unread, consumed_ + pos_));
    case Decode::kNeedMore:
      break;
  }
  if (!ended_) return Result::kNeedMore;
  if (unread.empty()) return Result::kEnd;
  return fail(truncated_message(bytes_in(), records_ + 1));
}

}  // namespace pathtrace::pcapfile
