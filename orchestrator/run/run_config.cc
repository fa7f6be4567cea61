#include "orchestrator/run/run_config.h"

namespace swarm {

v1::RunSpec ToSpec(const RunConfig& c) {
  v1::RunSpec s;
  s.set_repo(c.repo);
  s.set_base_rev(c.base_rev);
  s.set_agent_command(c.agent_command);
  s.set_test_command(c.test_command);
  s.set_test_format(c.test_format);
  s.set_test_report(c.test_report);
  s.set_plan_file(c.plan_file);
  s.set_plan_text(c.plan_text);
  s.set_shard_glob(c.shard_glob);
  s.set_shard_parts(c.shard_parts);
  s.set_independent(c.independent);
  s.set_agents(c.agents);
  s.set_agent_hosts(c.agent_hosts);
  s.set_test_timeout_s(c.test_timeout_s);
  s.set_agent_timeout_s(c.agent_timeout_s);
  s.set_max_attempts(c.max_attempts);
  s.set_max_rebases(c.max_rebases);
  s.set_max_patch_mb(c.max_patch_mb);
  s.set_max_patch_expanded_mb(c.max_patch_expanded_mb);
  s.set_max_patch_files(c.max_patch_files);
  s.set_max_workspace_mb(c.max_workspace_mb);
  s.set_max_workspace_files(c.max_workspace_files);
  s.set_test_jobs(c.test_jobs);
  s.set_queue_depth(c.queue_depth);
  s.set_max_batch(c.max_batch);
  s.set_lease_timeout_s(c.lease_timeout_s);
  s.set_heartbeat_interval_s(c.heartbeat_interval_s);
  s.set_state_dir(c.state_dir);
  s.set_json(c.json);
  s.set_keep_workspaces(c.keep_workspaces);
  s.set_agent_network(c.agent_network);
  s.set_no_sandbox(c.no_sandbox);
  for (const auto& e : c.sandbox_env) s.add_sandbox_env(e);
  for (const auto& b : c.sandbox_ro_binds) s.add_sandbox_ro_binds(b);
  for (const auto& g : c.allow_paths) s.add_allow_paths(g);
  s.set_memory_bytes(c.limits.memory_bytes);
  s.set_max_processes(c.limits.max_processes);
  s.set_max_file_bytes(c.limits.max_file_bytes);
  s.set_agent_binary(c.agent_binary);
  s.set_model(c.model);
  s.set_base_url(c.base_url);
  s.set_budget_usd(c.budget_usd);
  s.set_max_steps(c.max_steps);
  s.set_task(c.task);
  s.set_max_attempt_tokens(c.max_attempt_tokens);
  s.set_max_fixups(c.max_fixups);
  s.set_no_fixups(c.max_fixups == 0);
  return s;
}

RunConfig FromSpec(const v1::RunSpec& s) {
  RunConfig c;
  c.repo = s.repo();
  if (!s.base_rev().empty()) c.base_rev = s.base_rev();
  c.agent_command = s.agent_command();
  c.test_command = s.test_command();
  if (!s.test_format().empty()) c.test_format = s.test_format();
  c.test_report = s.test_report();
  c.plan_file = s.plan_file();
  c.plan_text = s.plan_text();
  c.shard_glob = s.shard_glob();
  c.shard_parts = s.shard_parts();
  c.independent = s.independent();
  c.agents = s.agents();
  c.agent_hosts = s.agent_hosts();
  c.test_timeout_s = s.test_timeout_s();
  c.agent_timeout_s = s.agent_timeout_s();
  c.max_attempts = s.max_attempts();
  c.max_rebases = s.max_rebases();
  if (s.max_patch_mb() > 0) c.max_patch_mb = s.max_patch_mb();
  if (s.max_patch_expanded_mb() > 0) c.max_patch_expanded_mb = s.max_patch_expanded_mb();
  if (s.max_patch_files() > 0) c.max_patch_files = s.max_patch_files();
  if (s.max_workspace_mb() > 0) c.max_workspace_mb = s.max_workspace_mb();
  if (s.max_workspace_files() > 0) c.max_workspace_files = s.max_workspace_files();
  c.test_jobs = s.test_jobs();
  if (s.queue_depth() > 0) c.queue_depth = s.queue_depth();
  if (s.max_batch() > 0) c.max_batch = s.max_batch();
  c.lease_timeout_s = s.lease_timeout_s();
  c.heartbeat_interval_s = s.heartbeat_interval_s();
  c.state_dir = s.state_dir();
  c.json = s.json();
  c.keep_workspaces = s.keep_workspaces();
  c.agent_network = s.agent_network();
  c.no_sandbox = s.no_sandbox();
  c.sandbox_env.assign(s.sandbox_env().begin(), s.sandbox_env().end());
  c.sandbox_ro_binds.assign(s.sandbox_ro_binds().begin(), s.sandbox_ro_binds().end());
  c.allow_paths.assign(s.allow_paths().begin(), s.allow_paths().end());
  c.limits.memory_bytes = s.memory_bytes();
  c.limits.max_processes = s.max_processes();
  c.limits.max_file_bytes = s.max_file_bytes();
  c.agent_binary = s.agent_binary();
  c.model = s.model();
  c.base_url = s.base_url();
  c.budget_usd = s.budget_usd();
  if (s.max_steps() > 0) c.max_steps = s.max_steps();
  c.task = s.task();
  c.max_attempt_tokens = s.max_attempt_tokens();
  if (s.max_fixups() > 0 || s.no_fixups()) c.max_fixups = s.max_fixups();
  return c;
}

}  // namespace swarm
