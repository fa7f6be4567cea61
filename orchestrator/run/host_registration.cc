#include "orchestrator/run/host_registration.h"

namespace swarm {

v1::CoordinatorMessage Registration(const PreparedRun& run, const RunLayout& layout,
                                    const std::string& integration_git_dir, bool sandboxed,
                                    const ResolvedModel* model) {
  const RunConfig& cfg = run.config;
  v1::CoordinatorMessage msg;
  auto* r = msg.mutable_registered();
  r->set_run_id(run.run_id);
  r->set_integration_git_dir(integration_git_dir);
  r->mutable_agent()->set_command(cfg.agent_command);
  r->mutable_agent()->set_timeout_s(cfg.agent_timeout_s);
  r->mutable_agent()->set_max_steps(static_cast<std::uint32_t>(cfg.max_steps));
  r->mutable_agent()->set_test_command(cfg.test_command);
  r->mutable_agent()->set_test_timeout_s(static_cast<std::uint32_t>(cfg.test_timeout_s));
  r->mutable_agent()->set_test_format(cfg.test_format);
  r->mutable_agent()->set_test_report(cfg.test_report);
  r->mutable_agent()->set_max_tokens(cfg.max_attempt_tokens);
  r->mutable_agent()->set_max_patch_bytes(static_cast<std::uint64_t>(cfg.max_patch_mb) << 20);
  r->mutable_agent()->set_max_patch_growth_bytes(static_cast<std::uint64_t>(cfg.max_patch_expanded_mb) << 20);
  r->mutable_agent()->set_max_patch_added_files(static_cast<std::uint64_t>(cfg.max_patch_files));
  r->mutable_agent()->set_max_workspace_growth_bytes(layout.tree_growth_bytes);
  r->mutable_agent()->set_max_workspace_growth_files(layout.tree_growth_files);
  auto* sb = r->mutable_sandbox();
  sb->set_enabled(sandboxed);
  sb->set_network(cfg.agent_network);
  for (const auto& kv : run.sandbox_env) sb->add_env(kv);
  for (const auto& p : cfg.sandbox_ro_binds) sb->add_ro_binds(p);
  for (const auto& f : cfg.agent_files) {
    v1::FileBind* bind = sb->add_agent_files();
    bind->set_source(f.source);
    bind->set_dest(f.dest);
  }
  sb->set_memory_bytes(cfg.limits.memory_bytes);
  sb->set_max_processes(cfg.limits.max_processes);
  sb->set_max_file_bytes(cfg.limits.max_file_bytes);
  sb->set_output_cap_bytes(1 << 20);
  for (const auto& p : layout.hidden_paths) sb->add_hidden_paths(p);
  sb->set_workspace_root(layout.workspace_root);
  sb->set_home(layout.sandbox_home);
  r->mutable_agent()->set_keep_workspaces(cfg.keep_workspaces);
  r->set_heartbeat_interval_ms(cfg.heartbeat_interval_s * 1000);
  r->set_pid_ledger_dir(layout.ledger_dir);
  r->set_live_log_dir(layout.live_log_dir);
  if (model != nullptr) {
    r->set_model(model->ref);
    r->set_context_window(static_cast<std::uint32_t>(model->info.context_window));
    r->set_max_output_tokens(static_cast<std::uint32_t>(model->info.max_output_tokens));
  }
  return msg;
}

v1::CoordinatorMessage LeaseMessage(const std::string& lease_id, const Lease& lease, const v1::Subtask& spec,
                                    const std::string& conflict_json, const std::string& failure_json) {
  v1::CoordinatorMessage msg;
  auto* m = msg.mutable_lease();
  m->set_lease_id(lease_id);
  m->set_fence(lease.fence);
  *m->mutable_subtask() = spec;
  m->set_attempt(lease.attempt);
  m->set_base_commit(lease.base);
  if (!conflict_json.empty()) m->set_conflict_json(conflict_json);
  if (!failure_json.empty()) m->set_failure_json(failure_json);
  return msg;
}

}  // namespace swarm
