#include "models/budget.h"

#include <algorithm>

#include "absl/strings/str_format.h"

namespace swarm {

double WorstCaseUsd(const ModelInfo& model, std::size_t request_bytes, std::uint32_t max_output_tokens) {
  // Every token of a byte-level tokenizer stands for at least one byte of the request (its JSON
  // syntax more than pays for a chat template's special tokens), so bytes bound tokens.
  const double input_price = std::max({model.input_usd, model.cached_input_usd, model.cache_write_usd});
  return (static_cast<double>(request_bytes + kProviderOverheadTokens) * input_price +
          static_cast<double>(max_output_tokens) * model.output_usd) /
         1e6;
}

double CostUsd(const ModelInfo& model, const v1::Usage& usage) {
  const std::uint64_t special = usage.cached_input_tokens() + usage.cache_write_tokens();
  const std::uint64_t plain = usage.input_tokens() > special ? usage.input_tokens() - special : 0;
  return (static_cast<double>(plain) * model.input_usd +
          static_cast<double>(usage.cached_input_tokens()) * model.cached_input_usd +
          static_cast<double>(usage.cache_write_tokens()) * model.cache_write_usd +
          static_cast<double>(usage.output_tokens()) * model.output_usd) /
         1e6;
}

Budget::Budget(double run_usd, double per_subtask_usd, double spent, std::map<std::string, double> spent_by_subtask,
               double per_group_usd, std::map<std::string, std::string> group_of)
    : run_usd_(run_usd),
      per_subtask_usd_(per_subtask_usd),
      per_group_usd_(per_group_usd),
      group_of_(std::move(group_of)),
      spent_(spent),
      subtask_spent_(std::move(spent_by_subtask)) {
  if (run_usd_ > 0 && spent_ >= run_usd_) exhausted_ = true;
  for (const auto& [subtask, usd] : subtask_spent_) {
    if (auto g = group_of_.find(subtask); g != group_of_.end()) group_spent_[g->second] += usd;
  }
}

absl::StatusOr<Budget::Reservation> Budget::Reserve(const std::string& subtask, double usd, bool* may_wait) {
  absl::MutexLock lock(&mu_);
  const double my_spent = subtask_spent_[subtask], my_reserved = subtask_reserved_[subtask];
  auto group = group_of_.find(subtask);
  const bool capped_group = per_group_usd_ > 0 && group != group_of_.end();
  if (may_wait != nullptr) {
    // Worth waiting only for money that is reserved now and would come back: never for a cap that
    // what was spent already leaves no room under.
    const bool run_ok = run_usd_ <= 0 || spent_ + usd <= run_usd_;
    const bool mine_ok = per_subtask_usd_ <= 0 || my_spent + usd <= per_subtask_usd_;
    const bool group_ok = !capped_group || group_spent_[group->second] + usd <= per_group_usd_;
    *may_wait = run_ok && mine_ok && group_ok && (reserved_ > 1e-9 || my_reserved > 1e-9);
  }
  if (run_usd_ > 0 && spent_ + reserved_ + usd > run_usd_) {
    if (spent_ + usd > run_usd_) exhausted_ = true;  // it would not fit even alone
    return absl::ResourceExhaustedError(absl::StrFormat(
        "the run's budget of $%.4f cannot cover this call (worst case $%.4f; spent $%.4f, reserved $%.4f)", run_usd_,
        usd, spent_, reserved_));
  }
  const double mine = my_spent + my_reserved;
  if (per_subtask_usd_ > 0 && mine + usd > per_subtask_usd_) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "subtask %s's budget of $%.4f cannot cover this call (worst case $%.4f; spent or reserved $%.4f)", subtask,
        per_subtask_usd_, usd, mine));
  }
  if (capped_group) {
    const double used = group_spent_[group->second] + group_reserved_[group->second];
    if (used + usd > per_group_usd_) {
      return absl::ResourceExhaustedError(
          absl::StrFormat("issue %s%s$%.4f cannot cover this call (worst case $%.4f; spent or reserved $%.4f)",
                          group->second, kGroupBudgetWords, per_group_usd_, usd, used));
    }
  }
  if (group != group_of_.end()) group_reserved_[group->second] += usd;
  subtask_reserved_[subtask] += usd;
  reserved_ += usd;
  return Reservation{subtask, usd};
}

void Budget::Join(const std::string& subtask, const std::string& group) {
  absl::MutexLock lock(&mu_);
  if (!group_of_.emplace(subtask, group).second) return;
  if (auto spent = subtask_spent_.find(subtask); spent != subtask_spent_.end()) group_spent_[group] += spent->second;
  if (auto reserved = subtask_reserved_.find(subtask); reserved != subtask_reserved_.end()) {
    group_reserved_[group] += reserved->second;
  }
}

void Budget::Settle(const Reservation& reservation, double actual_usd) {
  absl::MutexLock lock(&mu_);
  reserved_ -= reservation.usd;
  if (reserved_ < 1e-12) reserved_ = 0;
  double& mine = subtask_reserved_[reservation.subtask];
  mine -= reservation.usd;
  if (mine < 1e-12) mine = 0;
  spent_ += actual_usd;
  subtask_spent_[reservation.subtask] += actual_usd;
  if (auto group = group_of_.find(reservation.subtask); group != group_of_.end()) {
    double& reserved = group_reserved_[group->second];
    reserved -= reservation.usd;
    if (reserved < 1e-12) reserved = 0;
    group_spent_[group->second] += actual_usd;
  }
  if (run_usd_ > 0 && spent_ >= run_usd_) exhausted_ = true;
}


double Budget::spent() const {
  absl::MutexLock lock(&mu_);
  return spent_;
}

double Budget::reserved() const {
  absl::MutexLock lock(&mu_);
  return reserved_;
}

bool Budget::exhausted() const {
  absl::MutexLock lock(&mu_);
  return exhausted_;
}

}  // namespace swarm
