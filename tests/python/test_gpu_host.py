# Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
"""examples/gpu_host.py's checks that need no GPU: the warning when the profile it plans with
timed other attention kernels than the host runs."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "examples"))

import gpu_host  # noqa: E402

DATA = os.environ.get("RTLM_DATA_DIR", os.path.join(os.path.dirname(__file__), "..", "..",
                                                     "benchmarks", "data"))
PROFILE = os.path.join(DATA, "profiles", "h100_llama-3.1-8b.csv")


def test_a_flash_host_planning_with_a_cudnn_profile_is_warned():
    warning = gpu_host.prefill_kernel_warning(PROFILE, "flash")
    assert warning is not None
    assert "flash" in warning and "cuDNN" in warning and PROFILE in warning


def test_a_host_running_the_profiled_kernel_is_not_warned():
    assert gpu_host.prefill_kernel_warning(PROFILE, "cudnn") is None


def test_a_profile_without_an_attention_line_is_not_warned(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("# rtlm-profile: 1\nphase,batch,new_tokens,kv_lengths,graph,repeat,seconds\n")
    assert gpu_host.prefill_kernel_warning(str(path), "flash") is None


def test_a_cudnn_host_planning_with_its_own_flash_profile_is_warned(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("# attention: prefill: SDPA (flash), causal, enable_gqa; decode: x\nphase\n")
    assert gpu_host.prefill_kernel_warning(str(path), "cudnn") is not None
