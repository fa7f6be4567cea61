#include "base/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "base/check.h"

namespace swarm::metrics {
namespace {

template <typename T>
std::unique_ptr<T> MakeSeries(const std::vector<double>&) {
  return std::make_unique<T>();
}
template <>
std::unique_ptr<Histogram> MakeSeries<Histogram>(const std::vector<double>& bounds) {
  return std::make_unique<Histogram>(bounds);
}

// Backslashes and newlines escaped (HELP text), and with `quotes` double quotes too (label values).
std::string Escape(std::string_view text, bool quotes) {
  std::string out;
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quotes) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

// Integers as integers (counts read best that way), others with every digit a double has.
std::string Number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[32];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  const std::to_chars_result r = std::to_chars(buf, buf + sizeof buf, v);  // the shortest that reads back
  return std::string(buf, r.ptr);
}

// {a="x",b="y"} with `extra` (le="...") last; empty without labels.
std::string Labels(const std::vector<std::string>& names, const std::vector<std::string>& values,
                   const std::string& extra = "") {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    out += out.empty() ? "{" : ",";
    out += names[i] + "=\"" + EscapeLabelValue(values[i]) + "\"";
  }
  if (!extra.empty()) out += (out.empty() ? "{" : ",") + extra;
  if (!out.empty()) out += "}";
  return out;
}

void Header(std::string& out, const std::string& name, const std::string& help, const char* type) {
  out += "# HELP " + name + " " + Escape(help, /*quotes=*/false) + "\n# TYPE " + name + " " + type + "\n";
}

}  // namespace

void Counter::Add(double amount) {
  if (amount > 0) value_.fetch_add(amount, std::memory_order_relaxed);
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(new std::atomic<std::uint64_t>[bounds_.size() + 1]) {
  SWARM_CHECK(std::is_sorted(bounds_.begin(), bounds_.end()));
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::Observe(double value) {
  const size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

template <typename T>
T& Family<T>::With(std::initializer_list<std::string_view> values) {
  return With(std::vector<std::string>(values.begin(), values.end()));
}

template <typename T>
T& Family<T>::With(const std::vector<std::string>& values) {
  SWARM_CHECK(values.size() == labels_.size());
  absl::MutexLock lock(&mu_);
  std::unique_ptr<T>& series = series_[values];
  if (series == nullptr) series = MakeSeries<T>(bounds_);
  return *series;
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

Registry::Entry& Registry::Find(const std::string& name, Type type, const std::vector<std::string>& labels) {
  SWARM_CHECK(name.rfind("swarm_", 0) == 0);
  auto it = families_.find(name);
  if (it == families_.end()) {
    it = families_.emplace(name, Entry{.type = type}).first;
    return it->second;
  }
  SWARM_CHECK(it->second.type == type);
  const std::vector<std::string>& have = type == Type::kCounter ? it->second.counters->labels()
                                         : type == Type::kGauge ? it->second.gauges->labels()
                                                                : it->second.histograms->labels();
  SWARM_CHECK(have == labels);
  return it->second;
}

Family<Counter>& Registry::CounterFamily(const std::string& name, const std::string& help,
                                         std::vector<std::string> labels) {
  SWARM_CHECK(name.size() > 6 && name.compare(name.size() - 6, 6, "_total") == 0);
  absl::MutexLock lock(&mu_);
  Entry& e = Find(name, Type::kCounter, labels);
  if (e.counters == nullptr) e.counters = std::make_unique<Family<Counter>>(name, help, std::move(labels));
  return *e.counters;
}

Family<Gauge>& Registry::GaugeFamily(const std::string& name, const std::string& help,
                                     std::vector<std::string> labels) {
  absl::MutexLock lock(&mu_);
  Entry& e = Find(name, Type::kGauge, labels);
  if (e.gauges == nullptr) e.gauges = std::make_unique<Family<Gauge>>(name, help, std::move(labels));
  return *e.gauges;
}

Family<Histogram>& Registry::HistogramFamily(const std::string& name, const std::string& help,
                                             std::vector<double> bounds, std::vector<std::string> labels) {
  absl::MutexLock lock(&mu_);
  Entry& e = Find(name, Type::kHistogram, labels);
  if (e.histograms == nullptr) {
    e.histograms = std::make_unique<Family<Histogram>>(name, help, std::move(labels), std::move(bounds));
  }
  return *e.histograms;
}

std::string Registry::Text() const {
  std::string out;
  absl::MutexLock lock(&mu_);
  for (const auto& family : families_) {
    const std::string& name = family.first;  // not a structured binding: lambdas below capture it (clang 14)
    const Entry& e = family.second;
    switch (e.type) {
      case Type::kCounter:
        Header(out, name, e.counters->help(), "counter");
        e.counters->ForEach([&](const std::vector<std::string>& values, const Counter& c) {
          out += name + Labels(e.counters->labels(), values) + " " + Number(c.value()) + "\n";
        });
        break;
      case Type::kGauge:
        Header(out, name, e.gauges->help(), "gauge");
        e.gauges->ForEach([&](const std::vector<std::string>& values, const Gauge& g) {
          out += name + Labels(e.gauges->labels(), values) + " " + Number(g.value()) + "\n";
        });
        break;
      case Type::kHistogram:
        Header(out, name, e.histograms->help(), "histogram");
        e.histograms->ForEach([&](const std::vector<std::string>& values, const Histogram& h) {
          const std::vector<std::string>& names = e.histograms->labels();
          // Read the buckets first and count from them: a scrape racing an Observe stays consistent.
          std::uint64_t cumulative = 0;
          for (size_t i = 0; i <= h.bounds().size(); ++i) {
            cumulative += h.bucket(i);
            const std::string le = i < h.bounds().size() ? Number(h.bounds()[i]) : "+Inf";
            out += name + "_bucket" + Labels(names, values, "le=\"" + le + "\"") + " " + Number(cumulative) + "\n";
          }
          out += name + "_sum" + Labels(names, values) + " " + Number(h.sum()) + "\n";
          out += name + "_count" + Labels(names, values) + " " + Number(cumulative) + "\n";
        });
        break;
    }
  }
  return out;
}

Registry& Metrics() {
  static Registry* registry = new Registry();  // never destroyed: threads may count until the process exits
  return *registry;
}

std::string EscapeLabelValue(std::string_view value) { return Escape(value, /*quotes=*/true); }

}  // namespace swarm::metrics
