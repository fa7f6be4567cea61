// The process's Prometheus metrics: counters, gauges and histograms in families with fixed label
// names, written in the text exposition format (0.0.4) for `/metrics`. Every family is named
// `swarm_*`; its label values come from closed sets the code names (an outcome, a stage, the
// configured model), never from a subtask id, a file name or text an agent chose. Each part of the run
// adds to the family it owns (orchestrator/run/run_metrics.h lists them); several runs in one process
// (`swarm serve`) add to the same series.
//
// Thread-safe: a series is updated with atomics; finding one takes its family's mutex, so a hot path
// keeps the reference (series live as long as the process).
#ifndef SWARM_BASE_METRICS_H_
#define SWARM_BASE_METRICS_H_

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace swarm::metrics {

// Only goes up. Add of a negative amount is ignored.
class Counter final {
 public:
  void Add(double amount = 1);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Gauge final {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Add(double amount) { value_.fetch_add(amount, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Counts observations into buckets by upper bound (cumulative when written), with their sum.
class Histogram final {
 public:
  explicit Histogram(std::vector<double> bounds);  // ascending; +Inf is implied
  void Observe(double value);

  const std::vector<double>& bounds() const { return bounds_; }
  std::uint64_t bucket(size_t i) const { return buckets_[i].load(std::memory_order_relaxed); }  // not cumulative
  std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  double sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  const std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // bounds_.size() + 1 (the last is +Inf)
  std::atomic<std::uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

enum class Type { kCounter, kGauge, kHistogram };

// One metric and its series, one per combination of label values.
template <typename T>
class Family final {
 public:
  Family(std::string name, std::string help, std::vector<std::string> labels, std::vector<double> bounds = {})
      : name_(std::move(name)), help_(std::move(help)), labels_(std::move(labels)), bounds_(std::move(bounds)) {}

  // The series with these label values (as many as the family has labels; a broken call aborts),
  // made at first use with value 0.
  T& With(std::initializer_list<std::string_view> values);
  T& With(const std::vector<std::string>& values);
  // The family without labels.
  T& Get() { return With({}); }

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& labels() const { return labels_; }
  // Calls fn(label values, series) for each series, in label order.
  template <typename Fn>
  void ForEach(Fn fn) const {
    absl::MutexLock lock(&mu_);
    for (const auto& [values, series] : series_) fn(values, *series);
  }

 private:
  const std::string name_;
  const std::string help_;
  const std::vector<std::string> labels_;
  const std::vector<double> bounds_;  // histograms'
  mutable absl::Mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<T>> series_ ABSL_GUARDED_BY(mu_);
};

// Every family of the process, by name.
class Registry final {
 public:
  // The family named `name`, made at the first call; later calls return it (they must agree on the
  // type and the labels, or the process aborts: two parts disagreeing on a metric is a bug).
  Family<Counter>& CounterFamily(const std::string& name, const std::string& help,
                                 std::vector<std::string> labels = {});
  Family<Gauge>& GaugeFamily(const std::string& name, const std::string& help, std::vector<std::string> labels = {});
  Family<Histogram>& HistogramFamily(const std::string& name, const std::string& help, std::vector<double> bounds,
                                     std::vector<std::string> labels = {});

  // Every family in the text exposition format, by name: HELP, TYPE, then each series.
  std::string Text() const;

 private:
  struct Entry {
    Type type = Type::kCounter;
    std::unique_ptr<Family<Counter>> counters = nullptr;
    std::unique_ptr<Family<Gauge>> gauges = nullptr;
    std::unique_ptr<Family<Histogram>> histograms = nullptr;
  };
  Entry& Find(const std::string& name, Type type, const std::vector<std::string>& labels)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::map<std::string, Entry> families_ ABSL_GUARDED_BY(mu_);
};

// The process's registry.
Registry& Metrics();

// A label value or HELP text escaped as the exposition format wants (backslash, quote, newline).
std::string EscapeLabelValue(std::string_view value);

}  // namespace swarm::metrics

#endif  // SWARM_BASE_METRICS_H_
