// Untrusted text in log lines: what a terminal would show, and how a flood is cut short.
#include "collector/common/log_text.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <random>

#include "collector/common/process.hpp"

namespace pathtrace {
namespace {

using namespace std::chrono_literals;

TEST(EscapeText, PlainTextAndUtf8PassUnchanged) {
  EXPECT_EQ(escape_text("point C (qbr qbrbdd1f2c3-bd): 200 → 0 ✗"), "point C (qbr qbrbdd1f2c3-bd): 200 → 0 ✗");
  EXPECT_EQ(escape_text(""), "");
}

TEST(EscapeText, AForgedLineAndTerminalEscapesBecomeVisible) {
  // The label of a wrong-token HELLO seen in the wild: a fake "connected" line after a newline,
  // and OSC 0 (set the window title) terminated by BEL.
  const std::string label = "X\npathtrace correlator: session 9 (10.0.0.1:1, point A): collector hv1 connected"
                            "\x1b]0;owned\x07\x1b[2J";
  const std::string e = escape_text(label);
  EXPECT_EQ(e, "X\\npathtrace correlator: session 9 (10.0.0.1:1, point A): collector hv1 connected"
               "\\x1b]0;owned\\x07\\x1b[2J");
  for (char c : e) EXPECT_FALSE(static_cast<unsigned char>(c) < 0x20 || c == 0x7f) << int(c);
}

TEST(EscapeText, BackslashCrTabDelC1BidiAndBadUtf8) {
  EXPECT_EQ(escape_text("a\\x1b"), "a\\\\x1b");  // a literal backslash cannot pass for an escape
  EXPECT_EQ(escape_text("tok\r\n\t"), "tok\\r\\n\\t");
  EXPECT_EQ(escape_text("\x7f"), "\\x7f");
  EXPECT_EQ(escape_text("\xc2\x9b" "31m"), "\\x9b31m");              // C1 CSI
  EXPECT_EQ(escape_text("abc\xe2\x80\xae" "fdp.exe"), "abc\\u202efdp.exe");  // right-to-left override
  EXPECT_EQ(escape_text("\xff\xc3(\xed\xa0\x80"), "\\xff\\xc3(\\xed\\xa0\\x80");  // invalid, surrogate
  EXPECT_EQ(escape_text("\xe2\x86"), "\\xe2\\x86");                 // a sequence cut short
}

TEST(EscapeText, LongTextIsCutWithItsLength) {
  const std::string e = escape_text(std::string(100000, 'a'), 64);
  EXPECT_EQ(e, std::string(64, 'a') + "… (100000 bytes)");
}

TEST(EscapeText, RandomBytesNeverYieldAControlCharacter) {
  std::mt19937 rng(7);
  for (int round = 0; round < 2000; ++round) {
    std::string s(rng() % 64, '\0');
    for (auto& c : s) c = static_cast<char>(rng());
    const std::string e = escape_text(s);
    for (unsigned char c : e) ASSERT_FALSE(c < 0x20 || c == 0x7f);
    ASSERT_EQ(escape_text(e), [&] {  // escaping twice only doubles the backslashes
      std::string d;
      for (char c : e) d += c == '\\' ? std::string("\\\\") : std::string(1, c);
      return d;
    }());
  }
}

TEST(RepeatLimiter, TwentyThousandLinesBecomeABurstAndACount) {
  RepeatLimiter lim(5, 10s);
  const auto t0 = RepeatLimiter::Clock::now();
  std::vector<std::string> printed;
  for (int i = 0; i < 20000; ++i)
    for (auto& l : lim.pass("gap", "1 records lost (seq " + std::to_string(i) + ")", t0 + std::chrono::microseconds(i)))
      printed.push_back(l);
  ASSERT_EQ(printed.size(), 5u);
  EXPECT_EQ(printed[4], "1 records lost (seq 4)");
  EXPECT_TRUE(lim.holding());
  // Another kind is not held back by this one.
  EXPECT_EQ(lim.pass("reject", "rejected: wrong token", t0).size(), 1u);
  const auto counts = lim.flush(t0 + 1s);
  ASSERT_EQ(counts.size(), 1u);
  EXPECT_EQ(counts[0], "… 19995 more like: 1 records lost (seq 5)");
  EXPECT_FALSE(lim.holding());
  // After the period lines pass again; what was held since is counted first.
  lim.pass("gap", "held", t0 + 2s);
  const auto later = lim.pass("gap", "after", t0 + 11s);
  ASSERT_EQ(later.size(), 2u);
  EXPECT_EQ(later[0], "… 1 more like: held");
  EXPECT_EQ(later[1], "after");
}

TEST(RelayLines, EveryLineOfAChildsStderrArrivesEscaped) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  const std::string text = "tcpdump: listening\n\x1b]0;title\x07 evil\r\nlast";
  ASSERT_EQ(::write(p[1], text.data(), text.size()), ssize_t(text.size()));
  ::close(p[1]);
  std::vector<std::string> lines;
  relay_lines(UniqueFd(p[0]), [&](const std::string& l) { lines.push_back(l); });
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "tcpdump: listening");
  EXPECT_EQ(lines[1], "\\x1b]0;title\\x07 evil");  // CRLF ends a line too
  EXPECT_EQ(lines[2], "last");
}

}  // namespace
}  // namespace pathtrace
