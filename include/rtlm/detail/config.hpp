// Copyright 2026 The rtlm Authors. SPDX-License-Identifier: Apache-2.0
#pragma once

// How rtlm's out-of-line definitions are built. rtlm::rtlm (and rtlm::sim, for the simulator and
// the offline profile tooling) compiles each `-inl.hpp` once in src/ (RTLM_COMPILED_LIB);
// rtlm::header_only includes them from the headers as inline definitions (RTLM_HEADER_ONLY).
// Exactly one of the two must be defined: the CMake targets do it.
#if defined(RTLM_HEADER_ONLY) && defined(RTLM_COMPILED_LIB)
#error "define RTLM_HEADER_ONLY or RTLM_COMPILED_LIB, not both"
#endif
#if !defined(RTLM_HEADER_ONLY) && !defined(RTLM_COMPILED_LIB)
#error "link rtlm::rtlm or rtlm::header_only (one of RTLM_COMPILED_LIB / RTLM_HEADER_ONLY)"
#endif

#ifdef RTLM_HEADER_ONLY
#define RTLM_INLINE inline
#else
#define RTLM_INLINE
#endif
