#include "base/metrics.h"

#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace swarm::metrics {
namespace {

TEST(MetricsTest, FamiliesAreWrittenInTheExpositionFormatByName) {
  Registry r;
  Family<Counter>& calls = r.CounterFamily("swarm_calls_total", "Calls made.", {"outcome"});
  calls.With({"ok"}).Add(3);
  calls.With({"error"}).Add();
  calls.With({"ok"}).Add(-5);  // a counter never goes down
  r.GaugeFamily("swarm_agents", "Agents now.").Get().Set(2.5);
  Family<Histogram>& took = r.HistogramFamily("swarm_took_seconds", "How long.", {0.1, 1}, {"stage"});
  took.With({"check"}).Observe(0.05);
  took.With({"check"}).Observe(0.1);  // on a bound: counted in that bucket
  took.With({"check"}).Observe(7);
  EXPECT_EQ(r.Text(),
            "# HELP swarm_agents Agents now.\n"
            "# TYPE swarm_agents gauge\n"
            "swarm_agents 2.5\n"
            "# HELP swarm_calls_total Calls made.\n"
            "# TYPE swarm_calls_total counter\n"
            "swarm_calls_total{outcome=\"error\"} 1\n"
            "swarm_calls_total{outcome=\"ok\"} 3\n"
            "# HELP swarm_took_seconds How long.\n"
            "# TYPE swarm_took_seconds histogram\n"
            "swarm_took_seconds_bucket{stage=\"check\",le=\"0.1\"} 2\n"
            "swarm_took_seconds_bucket{stage=\"check\",le=\"1\"} 2\n"
            "swarm_took_seconds_bucket{stage=\"check\",le=\"+Inf\"} 3\n"
            "swarm_took_seconds_sum{stage=\"check\"} 7.15\n"
            "swarm_took_seconds_count{stage=\"check\"} 3\n");
}

TEST(MetricsTest, AFamilyAskedForAgainIsTheSameOne) {
  Registry r;
  Family<Counter>& a = r.CounterFamily("swarm_x_total", "X.", {"kind"});
  Family<Counter>& b = r.CounterFamily("swarm_x_total", "X.", {"kind"});
  EXPECT_EQ(&a, &b);
  a.With({"k"}).Add();
  EXPECT_EQ(b.With({"k"}).value(), 1);
}

TEST(MetricsTest, LabelValuesAndHelpAreEscaped) {
  Registry r;
  r.CounterFamily("swarm_e_total", "a \\ b\nc", {"model"}).With({"a\"b\\c\nd"}).Add();
  EXPECT_EQ(r.Text(),
            "# HELP swarm_e_total a \\\\ b\\nc\n"
            "# TYPE swarm_e_total counter\n"
            "swarm_e_total{model=\"a\\\"b\\\\c\\nd\"} 1\n");
}

TEST(MetricsTest, ABrokenCallAborts) {
  Registry r;
  r.CounterFamily("swarm_y_total", "Y.", {"a"});
  EXPECT_DEATH(r.GaugeFamily("swarm_y_total", "Y."), "");                    // another type
  EXPECT_DEATH(r.CounterFamily("swarm_y_total", "Y.", {"b"}), "");           // other labels
  EXPECT_DEATH(r.CounterFamily("swarm_y_total", "Y.", {"a"}).With({}), "");  // too few values
  EXPECT_DEATH(r.CounterFamily("swarm_calls", "No suffix."), "");            // a counter ends in _total
  EXPECT_DEATH(r.GaugeFamily("other_gauge", "Not ours."), "");               // every name is swarm_*
}

TEST(MetricsTest, ConcurrentUpdatesAreAllCounted) {
  Registry r;
  Family<Counter>& c = r.CounterFamily("swarm_n_total", "N.", {"t"});
  Family<Histogram>& h = r.HistogramFamily("swarm_h_seconds", "H.", {1});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        c.With({"same"}).Add();
        h.Get().Observe(0.5);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(c.With({"same"}).value(), 40000);
  EXPECT_EQ(h.Get().count(), 40000u);
  EXPECT_EQ(h.Get().sum(), 20000);
}

}  // namespace
}  // namespace swarm::metrics
