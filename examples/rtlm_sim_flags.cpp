// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0

#include "rtlm_sim_flags.hpp"

#include <algorithm>
#include <cmath>
#include <exception>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rtlm/core/error.hpp"
#include "rtlm/detail/validate.hpp"
#include "rtlm/estimate/hardware_spec.hpp"

namespace rtlm_sim {

const std::string_view usage =
    R"(rtlm-sim: replay a trace through rtlm's scheduling policies on simulated GPUs

usage: rtlm-sim [options]

  --suite              run the regimes R0 to R5 (docs/simulator.md, "The suite"): each a table,
                       a plot and JSON keys <regime>.<policy>.<metric>; over 5 seeds unless
                       --seeds is given
  --regimes LIST       with --suite, only these regimes (comma-separated: R0, R1, R2_mooncake,
                       R2_l4, R3, R4, R5; default: all)
  --trace PATH         arrivals and token counts: an Azure LLM trace .csv, a Mooncake .jsonl, a
                       timestamp_ms,input_length,output_length .csv, or a length set without
                       times (the bundled ShareGPT lengths; needs --arrivals other than trace)
                       (default: the bundled Azure 2023 conversation trace, 1 hour)
  --arrivals KIND      trace (the trace's own arrivals, stretched to the load; default), poisson,
                       gamma:CV (at the load's rate, with gaps of that coefficient of variation),
                       or all_at_once (every request at time 0, vllm-ltr's mode)
  --burst N@T          also inject N requests at T seconds, their lengths drawn from the trace's
  --prefix-cache       the engine caches prompt prefixes (as vLLM V1 does by default): a prefill
                       skips the leading blocks already cached, in a least-recently-used cache
                       as large as the KV; needs a trace with prefix blocks (Mooncake's .jsonl)
  --classes LIST       a mixed workload of SLO classes, comma-separated, each
                       NAME:SHARE[:ttft=S][:tpot=S][:budget=S][:sheddable]: that share of the
                       requests (drawn per request with the seed) gets those objectives (TTFT and
                       TPOT targets, an end-to-end time budget); a class with TTFT and TPOT and
                       no budget gets the deadline they imply. The SLO tables then count each
                       request's own objectives. Example (regime R5):
                       interactive:0.3:ttft=0.5:tpot=0.05,batch:0.7:budget=600
  --tenants LIST       tenants' shares of the requests, comma-separated (e.g. 10,1,1,1: a heavy
                       tenant with ten times the demand of each other); at most 64
  --fairness           rtlm's policies share the GPU between the --tenants by virtual token
                       counters (VTC), each tenant's requests in the policy's order
  --relegation MODE    what rtlm's policies do with a request that can no longer meet its TTFT
                       target (or deadline): off (default), demote (serve it as best effort) or
                       shed_sheddable (refuse it if its class is sheddable, else demote)
  --slo-steps          rtlm's policies plan each step for the objectives: prompt tokens go first
                       to requests awaiting a first token under a TTFT target, and the step is
                       sized to the running requests' TPOT targets (prefill tokens only while
                       it fits; decodes of requests without one sit out every other step when
                       the decodes alone do not fit)
  --gpu NAME           the simulated GPU: h100 (default), h200, a100-80gb, a100-40gb or l4
  --tp N               tensor-parallel degree: 1 (default), 2, 4 or 8
  --gpu-memory-utilization F
                       the share of GPU memory the engine takes (vLLM's setting; default 0.9);
                       KV capacity is that less the weights
  --profile PATH       the GPU profile whose fitted estimator and measured noise time the steps
                       (default: the bundled profile of the GPU and model, else the model's H100
                       profile carried over to the GPU's ceilings)
  --model NAME         llama-3.1-8b (default), qwen2.5-7b or llama-3.1-70b
  --replicas N         simulated servers (default: 1)
  --policies LIST      comma-separated: vllm_fcfs, vllm_priority, prompt_sjf, edf,
                       predicted_sjf, predicted_srpt, least_laxity, uncertainty_aware,
                       remaining_work, gittins (the Gittins index of the predicted length
                       distribution), tie (TIE's tail-inflated expectation), srpt_strict,
                       gittins_strict, tie_strict (those without aging: a strict order that may
                       starve long requests), oracle_srpt, oracle_edf (default: all)
  --load X             offered load as a fraction of the simulated server's saturated capacity
                       (the whole trace queued at once, vllm_fcfs; default: 0.9)
  --loads LIST         loads for the deadline-miss plot (default: 0.5,0.7,0.9,1.1; empty: none)
  --deadline RULE      slack:F (deadline = arrival + F x isolated service time; default slack:5),
                       slo:TTFT,TPOT (seconds: arrival + TTFT + TPOT x (output - 1)), or none
  --slo TTFT,TPOT      the service-level objective the SLO-attainment, goodput and
                       sustainable-rate figures count (seconds; default 2,0.1)
  --admission MODE     what rtlm's policies do with a request whose deadline no backend can meet:
                       reject (default), downgrade (keep it as best effort), relax (relax its
                       deadline) or accept (no admission control). The baselines (vllm_fcfs,
                       vllm_priority, prompt_sjf, edf) and the oracles run under vLLM V1's rules:
                       no admission control, KV on demand, recompute on overflow
  --rtlm-kv RULE       what rtlm's policies reserve in KV: on_demand (as vLLM V1; default) or
                       predicted_bound (the prompt and the predicted 90% length bound)
  --admission-length B the output length admission control judges on: saturated (the predicted
                       mean while a backend is saturated, one token otherwise; default) or
                       expected (the predicted mean, always)
  --admission-pace P   the pace admission control judges a deadline at: alone (the request run
                       by itself; default) or current (after the GPU's predicted queueing wait,
                       every step as slow as the GPU's last planned one)
  --evict              rtlm's policies run on GPUs that can evict KV: a request with a deadline
                       keeps the least fraction of its prompt's KV that meets it (TimeBill's
                       solver); the table's alpha column is the mean evicted fraction
  --consolidate        rtlm's policies also hold back admissions that would make a running
                       request miss its deadline (dynamic consolidation; off by default)
  --preempt            rtlm's policies and the oracles preempt the least urgent running request
                       (by recompute, or by swap with --swap) when the batch or the KV is full
                       and a waiting request outranks it by more than 1 s of key (preemption for
                       priority; off by default, as in vLLM)
  --preemption-limit C with --preempt, a running request may be preempted for priority only
                       while it has generated fewer than C x its predicted mean tokens (TRAIL's
                       limited preemption; default: no limit)
  --preemption-cost    with --preempt, a waiting request must also outrank a running one by what
                       preempting it costs (a recompute's prefill of its prompt and output)
  --swap GBPS          the simulated GPUs can swap a preempted request's KV to host memory and
                       back over a link of GBPS GB/s, charged to the step that moves it, instead
                       of recomputing it (every policy; default 0: recompute only, as in vLLM V1)
  --size-weight S      virtual seconds per predicted output token in the keys of the size-based
                       policies (predicted_sjf, predicted_srpt, uncertainty_aware, gittins, tie;
                       default 0.01); larger is closer to pure shortest-first, with less aging
  --step-tokens N      tokens one step may compute, prefill chunks and decodes together (vLLM's
                       max_num_batched_tokens; default vLLM V1's: 8192 on a GPU of 70 GiB or
                       more, 2048 below)
  --kv-tokens N        the simulated GPU's KV capacity in tokens (default: from its memory)
  --max-batch N        sequences one step may hold (vLLM's max_num_seqs; default vLLM V1's: 1024
                       on a GPU of 70 GiB or more, 256 below)
  --predictor KIND     noise (the rtlm predictor's measured error, calibrated on AlpacaEval by
                       cross-validation; default), oracle (true lengths), none, or tau:X (a
                       controlled predictor whose predicted means have Kendall tau X in (0, 1)
                       with the true lengths: log-normal noise fitted to the workload's true
                       output lengths, its calibrated posterior as the prediction)
  --length-errors PATH the measured predictor errors the noise predictor draws from
                       (default: the bundled AlpacaEval cross-validation errors)
  --length-errors-model NAME
                       whose errors (default: Meta-Llama-3-8B-Instruct)
  --duration S         use only the first S seconds of the trace (0 < S <= 4e9)
  --seed N             seed of the step-time noise and of the noise and tau:X predictors' draws
                       (default: 1)
  --seeds LIST         comma-separated seeds: the main load runs once per seed (the table, CSVs and
                       plots are the first seed's) and a second table shows each figure's mean
                       and range over the seeds, and each policy's mean latency over
                       vllm_fcfs's
  --out DIR            per-request CSV and SVG plots go here (default: rtlm-sim-out)
  --json PATH          also write the summary as JSON
  --quiet              no progress bar
  --help               this text
)";

options::options(std::string data)
    : data_dir(std::move(data)),
      trace(data_dir + "/traces/azure-llm-2023/AzureLLMInferenceTrace_conv.csv"),
      errors(data_dir + "/length_errors/alpaca_eval_cv.csv") {}

namespace {

std::vector<std::string> split(std::string_view s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    const std::size_t comma = std::min(s.find(',', start), s.size());
    if (comma > start) out.emplace_back(s.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

double number(std::string_view flag, const std::string& text) {
  try {
    std::size_t used = 0;
    const double v = std::stod(text, &used);
    if (used == text.size() && std::isfinite(v)) return v;
  } catch (const std::exception&) {
  }
  throw rtlm::error(std::string(flag), text, "must be a number");
}

// A whole number in [low, high], checked before any cast (1.9 is not truncated to 1, 1e10 does
// not wrap around).
double whole(std::string_view flag, const std::string& text, double low, double high,
             std::string_view requirement) {
  const double v = number(flag, text);
  rtlm::detail::require(v >= low && v <= high && v == std::floor(v), flag, text, requirement);
  return v;
}

std::uint64_t seed_of(std::string_view flag, const std::string& text) {
  return static_cast<std::uint64_t>(
      whole(flag, text, 0, 0x1p53, "must be a whole number in 0..2^53"));
}

// A load: a fraction of the simulated server's measured capacity.
double load_of(std::string_view flag, const std::string& text) {
  const double v = number(flag, text);
  rtlm::detail::require(v > 0 && v <= 10, flag, v, "must be in (0, 10]");
  return v;
}

// Seconds of a deadline rule: a duration in [0, 1e9].
double rule_seconds(const std::string& flag, const std::string& rule, const std::string& text,
                    std::string_view what) {
  const double v = number(flag, text);
  rtlm::detail::require(v >= 0 && v <= rtlm::sim::max_duration_seconds, flag, rule,
                        std::string(what) + " must be in [0, 1e9] seconds");
  return v;
}

// One --classes entry: NAME:SHARE[:ttft=S][:tpot=S][:budget=S][:sheddable].
std::pair<rtlm::slo_class, double> class_of(const std::string& flag, const std::string& text) {
  std::vector<std::string> parts;
  for (std::size_t start = 0; start <= text.size();) {
    const std::size_t colon = std::min(text.find(':', start), text.size());
    parts.push_back(text.substr(start, colon - start));
    start = colon + 1;
  }
  rtlm::detail::require(parts.size() >= 2 && !parts[0].empty(), flag, text,
                        "each class must be NAME:SHARE[:ttft=S][:tpot=S][:budget=S][:sheddable]");
  rtlm::slo_class c{.name = parts[0]};
  const double share = number(flag, parts[1]);
  rtlm::detail::require(share >= 0 && share <= 1e6, flag, text, "a share must be in [0, 1e6]");
  for (std::size_t i = 2; i < parts.size(); ++i) {
    const std::string& p = parts[i];
    if (p == "sheddable") {
      c.sheddable = true;
      continue;
    }
    const std::size_t eq = p.find('=');
    const std::string key = p.substr(0, eq);
    rtlm::detail::require(
        eq != std::string::npos && (key == "ttft" || key == "tpot" || key == "budget"), flag, text,
        "a class's options are ttft=S, tpot=S, budget=S, sheddable");
    const double v = number(flag, p.substr(eq + 1));
    rtlm::detail::require(v > 0 && v <= rtlm::sim::max_duration_seconds, flag, text,
                          key + " must be in (0, 1e9] seconds");
    (key == "ttft" ? c.ttft : key == "tpot" ? c.tpot : c.time_budget) = rtlm::seconds(v);
  }
  return {c, share};
}

}  // namespace

policy_run policy_named(const std::string& name) {
  using k = rtlm::policy_kind;
  static const std::map<std::string, policy_run, std::less<>> known = {
      {"vllm_fcfs", {"vllm_fcfs", k::first_come_first_served, false, false}},
      {"vllm_priority", {"vllm_priority", k::shortest_predicted_first, false, false, true}},
      {"prompt_sjf", {"prompt_sjf", k::shortest_prompt_first, false, false}},
      {"edf", {"edf", k::earliest_deadline_first, false, false}},
      {"predicted_sjf", {"predicted_sjf", k::shortest_predicted_first, true, false}},
      {"predicted_srpt", {"predicted_srpt", k::shortest_predicted_remaining, true, false}},
      {"least_laxity", {"least_laxity", k::least_laxity_first, true, false}},
      {"uncertainty_aware", {"uncertainty_aware", k::uncertainty_aware_priority, true, false}},
      {"remaining_work", {"remaining_work", k::shortest_remaining_work, true, false}},
      {"gittins", {"gittins", k::gittins_index, true, false}},
      {"tie", {"tie", k::tail_inflated_expectation, true, false}},
      {"srpt_strict", {"srpt_strict", k::shortest_predicted_remaining, true, false, true}},
      {"gittins_strict", {"gittins_strict", k::gittins_index, true, false, true}},
      {"tie_strict", {"tie_strict", k::tail_inflated_expectation, true, false, true}},
      {"oracle_srpt", {"oracle_srpt", k::shortest_remaining_work, false, true, true}},
      {"oracle_edf", {"oracle_edf", k::least_laxity_first, false, true}},
  };
  const auto it = known.find(name);
  if (it == known.end()) throw rtlm::error("--policies", name, "is not a known policy");
  return it->second;
}

options parse_flags(std::span<const std::string> args, const std::string& data_dir) {
  options o(data_dir);
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    const auto value = [&]() -> const std::string& {
      if (i + 1 >= args.size()) throw rtlm::error(a, "missing", "needs a value (see --help)");
      return args[++i];
    };
    if (a == "--help" || a == "-h") {
      o.help = true;
      return o;
    }
    if (a == "--trace") {
      o.trace = value();
    } else if (a == "--profile") {
      o.profile = value();
    } else if (a == "--model") {
      o.model = value();
    } else if (a == "--gpu") {
      o.gpu = value();
      if (!rtlm::accelerators::by_name(o.gpu)) {
        throw rtlm::error(a, o.gpu, "must be h100, h200, a100-80gb, a100-40gb or l4");
      }
    } else if (a == "--tp") {
      const std::string& v = value();
      o.tp = static_cast<int>(whole(a, v, 1, 8, "must be 1, 2, 4 or 8"));
      rtlm::detail::require(o.tp == 1 || o.tp == 2 || o.tp == 4 || o.tp == 8, a, v,
                            "must be 1, 2, 4 or 8");
    } else if (a == "--gpu-memory-utilization") {
      o.memory_utilization = number(a, value());
      rtlm::detail::require(o.memory_utilization > 0 && o.memory_utilization <= 1, a,
                            o.memory_utilization, "must be in (0, 1]");
    } else if (a == "--rtlm-kv") {
      const std::string& v = value();
      const std::optional<rtlm::kv_reservation> r = rtlm::kv_reservation_from_string(v);
      if (!r) throw rtlm::error(a, v, "must be on_demand or predicted_bound");
      o.rtlm_kv_rule = *r;
    } else if (a == "--arrivals") {
      const std::string& v = value();
      if (v.rfind("gamma:", 0) == 0) {
        o.arrivals = "gamma";
        o.arrival_cv = number(a, v.substr(6));
        rtlm::detail::require(o.arrival_cv > 0 && o.arrival_cv <= 100, a, v,
                              "the coefficient of variation must be in (0, 100]");
      } else if (v == "trace" || v == "poisson" || v == "all_at_once") {
        o.arrivals = v;
      } else {
        throw rtlm::error(a, v, "must be trace, poisson, gamma:CV or all_at_once");
      }
    } else if (a == "--burst") {
      const std::string& v = value();
      const std::size_t at = v.find('@');
      rtlm::detail::require(at != std::string::npos, a, v, "must be N@T (N requests at T s)");
      o.burst_requests = static_cast<std::int64_t>(
          whole(a, v.substr(0, at), 1, 1e6, "must be N@T with N a whole number in 1..1e6"));
      o.burst_at = number(a, v.substr(at + 1));
      rtlm::detail::require(o.burst_at >= 0 && o.burst_at <= max_seconds, a, v,
                            "must be N@T with T seconds in [0, 4e9]");
    } else if (a == "--classes") {
      const std::string& v = value();
      o.classes.clear();
      o.class_shares.clear();
      for (const std::string& entry : split(v)) {
        auto [c, share] = class_of(a, entry);
        o.classes.push_back(std::move(c));
        o.class_shares.push_back(share);
      }
      rtlm::detail::require(!o.classes.empty(), a, v, "must name at least one class");
      rtlm::slo_config check{.classes = o.classes};
      try {
        check.validate();
        rtlm::sim::request_mix{.class_shares = o.class_shares}.validate(o.classes.size());
      } catch (const rtlm::error& e) {
        throw rtlm::error(a, v, std::string(e.field()) + " " + e.requirement());
      }
    } else if (a == "--tenants") {
      const std::string& v = value();
      o.tenant_shares.clear();
      for (const std::string& s : split(v)) {
        const double share = number(a, s);
        rtlm::detail::require(share >= 0 && share <= 1e6, a, v, "a share must be in [0, 1e6]");
        o.tenant_shares.push_back(share);
      }
      rtlm::detail::require(!o.tenant_shares.empty() && o.tenant_shares.size() <= 64, a, v,
                            "must name 1 to 64 tenants' shares");
      try {
        rtlm::sim::request_mix{.tenant_shares = o.tenant_shares}.validate(0);
      } catch (const rtlm::error& e) {
        throw rtlm::error(a, v, std::string(e.field()) + " " + e.requirement());
      }
    } else if (a == "--fairness") {
      o.fairness = true;
    } else if (a == "--relegation") {
      const std::string& v = value();
      const std::optional<rtlm::relegation_mode> m = rtlm::relegation_mode_from_string(v);
      if (!m) throw rtlm::error(a, v, "must be off, demote or shed_sheddable");
      o.relegation = *m;
    } else if (a == "--slo-steps") {
      o.slo_steps = true;
    } else if (a == "--prefix-cache") {
      o.prefix_cache = true;
    } else if (a == "--suite") {
      o.suite = true;
    } else if (a == "--regimes") {
      const std::string& v = value();
      o.regimes = split(v);
      rtlm::detail::require(!o.regimes.empty(), a, v, "must name at least one regime");
      for (const std::string& r : o.regimes) {
        rtlm::detail::require(r == "R0" || r == "R1" || r == "R2_mooncake" || r == "R2_l4" ||
                                  r == "R3" || r == "R4" || r == "R5",
                              a, r, "is not a regime (R0, R1, R2_mooncake, R2_l4, R3, R4, R5)");
      }
    } else if (a == "--replicas") {
      o.replicas = static_cast<int>(whole(a, value(), 1, 64, "must be a whole number in 1..64"));
    } else if (a == "--policies") {
      const std::string& v = value();
      o.policies = split(v);
      rtlm::detail::require(!o.policies.empty(), a, v, "must name at least one policy");
      std::set<std::string, std::less<>> seen;
      for (const std::string& name : o.policies) {
        static_cast<void>(policy_named(name));
        rtlm::detail::require(seen.insert(name).second, a, name,
                              "is named twice (each policy writes its own requests_<policy>.csv)");
      }
    } else if (a == "--load") {
      o.load = load_of(a, value());
    } else if (a == "--loads") {
      o.loads.clear();
      for (const std::string& l : split(value())) o.loads.push_back(load_of(a, l));
    } else if (a == "--deadline") {
      const std::string& v = value();
      if (v == "none") {
        o.deadlines.rule = rtlm::sim::deadline_rule::kind::none;
      } else if (v.rfind("slack:", 0) == 0) {
        o.deadlines.rule = rtlm::sim::deadline_rule::kind::slack;
        o.deadlines.slack = number(a, v.substr(6));
        rtlm::detail::require(
            o.deadlines.slack > 0 && o.deadlines.slack <= rtlm::sim::max_deadline_slack, a, v,
            "the slack factor must be in (0, 1e9]");
      } else if (v.rfind("slo:", 0) == 0) {
        const std::vector<std::string> parts = split(v.substr(4));
        rtlm::detail::require(parts.size() == 2, a, v, "must be slo:TTFT,TPOT");
        o.deadlines.rule = rtlm::sim::deadline_rule::kind::slo;
        o.deadlines.ttft = rtlm::seconds(rule_seconds(a, v, parts[0], "TTFT"));
        o.deadlines.tpot = rtlm::seconds(rule_seconds(a, v, parts[1], "TPOT"));
      } else {
        throw rtlm::error(a, v, "must be slack:F, slo:TTFT,TPOT or none");
      }
      o.deadlines.validate();
      o.deadlines_given = true;
    } else if (a == "--slo") {
      const std::string& v = value();
      const std::vector<std::string> parts = split(v);
      rtlm::detail::require(parts.size() == 2, a, v, "must be TTFT,TPOT (seconds)");
      o.slo.ttft = rtlm::seconds(rule_seconds(a, v, parts[0], "TTFT"));
      o.slo.tpot = rtlm::seconds(rule_seconds(a, v, parts[1], "TPOT"));
    } else if (a == "--predictor") {
      const std::string& v = value();
      if (v.rfind("tau:", 0) == 0) {
        o.predictor = "tau";
        o.predictor_tau = number(a, v.substr(4));
        rtlm::detail::require(o.predictor_tau > 0 && o.predictor_tau < 1, a, v,
                              "the Kendall tau must be in (0, 1)");
      } else {
        o.predictor = v;
        rtlm::detail::require(
            o.predictor == "noise" || o.predictor == "oracle" || o.predictor == "none", a,
            o.predictor, "must be noise, oracle, none or tau:X");
      }
    } else if (a == "--admission") {
      const std::string& v = value();
      const std::optional<rtlm::admission_mode> m =
          rtlm::admission_mode_from_string(v == "relax" ? "relax_deadline" : v);
      if (!m) throw rtlm::error(a, v, "must be reject, downgrade, relax or accept");
      o.admission = *m;
      o.admission_given = true;
    } else if (a == "--admission-length") {
      const std::string& v = value();
      if (v == "saturated") {
        o.admission_length = rtlm::admission_basis::expected_length_when_saturated;
      } else if (v == "expected") {
        o.admission_length = rtlm::admission_basis::expected_length;
      } else {
        throw rtlm::error(a, v, "must be saturated or expected");
      }
    } else if (a == "--admission-pace") {
      const std::string& v = value();
      if (v != "alone" && v != "current") throw rtlm::error(a, v, "must be alone or current");
      o.admission_at_current_pace = v == "current";
    } else if (a == "--size-weight") {
      o.size_weight = number(a, value());
      rtlm::detail::require(o.size_weight >= 0, a, o.size_weight, "must be >= 0");
    } else if (a == "--kv-tokens") {
      const double v = number(a, value());
      rtlm::detail::require(v >= 1 && v <= 1e12 && v == std::floor(v), a, v,
                            "must be a whole number in 1..1e12");
      o.kv_tokens = static_cast<std::int64_t>(v);
    } else if (a == "--max-batch") {
      const double v = number(a, value());
      rtlm::detail::require(v >= 1 && v <= 65536 && v == std::floor(v), a, v,
                            "must be a whole number in 1..65536");
      o.max_batch = static_cast<int>(v);
    } else if (a == "--step-tokens") {
      const double v = number(a, value());
      rtlm::detail::require(v >= 1 && v <= 16777216 && v == std::floor(v), a, v,
                            "must be a whole number in 1..16777216");
      o.step_tokens = static_cast<std::int64_t>(v);
    } else if (a == "--evict") {
      o.evict = true;
    } else if (a == "--consolidate") {
      o.consolidate = true;
    } else if (a == "--preempt") {
      o.preempt = true;
    } else if (a == "--preemption-limit") {
      o.preemption_limit = number(a, value());
      rtlm::detail::require(o.preemption_limit >= 0, a, o.preemption_limit, "must be >= 0");
    } else if (a == "--preemption-cost") {
      o.preemption_cost = true;
    } else if (a == "--swap") {
      o.swap_gbps = number(a, value());
      rtlm::detail::require(o.swap_gbps >= 0 && o.swap_gbps <= 1e6, a, o.swap_gbps,
                            "must be GB/s in 0..1e6 (0: no swapping)");
    } else if (a == "--length-errors") {
      o.errors = value();
    } else if (a == "--length-errors-model") {
      o.errors_model = value();
    } else if (a == "--duration") {
      o.duration = number(a, value());
      rtlm::detail::require(o.duration > 0 && o.duration <= max_seconds, a, o.duration,
                            "must be seconds in (0, 4e9]");
    } else if (a == "--seed") {
      o.seeds = {seed_of(a, value())};
      o.seeds_given = true;
    } else if (a == "--seeds") {
      o.seeds.clear();
      for (const std::string& s : split(value())) o.seeds.push_back(seed_of(a, s));
      rtlm::detail::require(!o.seeds.empty(), a, "", "must name at least one seed");
      o.seeds_given = true;
    } else if (a == "--out") {
      o.out = value();
    } else if (a == "--json") {
      o.json = value();
    } else if (a == "--quiet") {
      o.quiet = true;
    } else {
      throw rtlm::error("argument", a, "is not an option (see --help)");
    }
  }
  rtlm::detail::require(!o.fairness || !o.tenant_shares.empty(), "--fairness", "on",
                        "needs --tenants");
  return o;
}

}  // namespace rtlm_sim
