// The analysis's words for numbers, shares, times, TCP flags and points.

#include "correlator/analysis/text.hpp"

#include <gtest/gtest.h>

#include "correlator/analysis/analysis.hpp"

namespace pathtrace {
namespace {

TEST(Text, Shares) {
  EXPECT_EQ(text::pct_text(20, 400), "5.0%");
  EXPECT_EQ(text::pct_text(200, 200), "100%");
  EXPECT_EQ(text::pct_text(0, 200), "0%");
  EXPECT_EQ(text::pct_text(1, 3), "33.3%");
  EXPECT_EQ(text::pct_text(5, 0), "0%");
  EXPECT_EQ(text::pct_text(9999, 10000), "100.0%");  // not all: never rounded up to "100%"
}

TEST(Text, NumbersAndTimes) {
  EXPECT_EQ(text::u64(18446744073709551615ull), "18446744073709551615");
  EXPECT_EQ(text::seconds_text(1'200'000'000), "1.20 s");
  EXPECT_EQ(text::seconds_text(-500'000'000), "-0.50 s");
  EXPECT_EQ(text::duration_text(30'002'000'000), "30.002 s");
  EXPECT_EQ(text::duration_text(-1'500'000), "1.500 ms");
  EXPECT_EQ(text::duration_text(4'000), "4.0 \u00b5s");
}

TEST(Text, TcpFlags) {
  EXPECT_EQ(text::tcp_flags_text(0x02), "SYN");
  EXPECT_EQ(text::tcp_flags_text(0x12), "SYN-ACK");
  EXPECT_EQ(text::tcp_flags_text(0x18), "PSH-ACK");
  EXPECT_EQ(text::tcp_flags_text(0x11), "FIN-ACK");
  EXPECT_EQ(text::tcp_flags_text(0x04), "RST");
  EXPECT_EQ(text::tcp_flags_text(0), "without flags");
}

TEST(Text, Points) {
  Point p;
  p.label = "C";
  EXPECT_EQ(point_text(p), "C");
  p.iface = "eth0";
  EXPECT_EQ(point_text(p), "C (eth0)");
  p.role = "qbr";
  p.iface = "qbrbdd1f2c3-bd";
  EXPECT_EQ(point_text(p), "C (qbr qbrbdd1f2c3-bd)");
}

}  // namespace
}  // namespace pathtrace
