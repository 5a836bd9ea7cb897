# Checks that prove the split between rtlm::rtlm (what a server links) and rtlm::sim (the
# simulator and the offline profile tooling), for the packaging tests' consumer projects.

# The names split_probe.cpp needs, one defined in each source of rtlm::sim.
set(rtlm_split_probe_symbols load_trace simulated_backend summarize load_length_errors
  load_length_set serving_metrics_of load_profile_csv load_splitwise_profile
  fit_timebill_estimator profile_grid)

# Against built libraries (an installed package): split_probe.cpp links with rtlm::sim, and
# linking it with rtlm::rtlm alone fails for want of every one of rtlm::sim's functions. Runs at
# configure time, so the libraries must exist already.
function(rtlm_check_split_by_linking)
  set(probe "${CMAKE_CURRENT_FUNCTION_LIST_DIR}/split_probe.cpp")
  try_compile(links_with_sim "${CMAKE_CURRENT_BINARY_DIR}/split-check/with-sim"
    SOURCES "${probe}" LINK_LIBRARIES rtlm::sim OUTPUT_VARIABLE output)
  if(NOT links_with_sim)
    message(FATAL_ERROR "split_probe.cpp does not build against rtlm::sim:\n${output}")
  endif()
  try_compile(links_without_sim "${CMAKE_CURRENT_BINARY_DIR}/split-check/without-sim"
    SOURCES "${probe}" LINK_LIBRARIES rtlm::rtlm OUTPUT_VARIABLE output)
  if(links_without_sim)
    message(FATAL_ERROR "split_probe.cpp links against rtlm::rtlm alone: rtlm::rtlm holds "
      "rtlm::sim's code")
  endif()
  foreach(symbol IN LISTS rtlm_split_probe_symbols)
    if(NOT output MATCHES "${symbol}")
      message(FATAL_ERROR "linking split_probe.cpp against rtlm::rtlm alone did not fail for "
        "want of ${symbol}: rtlm::rtlm holds some of rtlm::sim's code, or the link failed for "
        "another reason:\n${output}")
    endif()
  endforeach()
  message(STATUS "rtlm::rtlm holds none of rtlm::sim's code")
endfunction()

# Against a source tree added with add_subdirectory (nothing built yet): rtlm::rtlm compiles no
# source of rtlm::sim and none that includes a header of rtlm/sim/, and does not link rtlm::sim.
function(rtlm_check_split_by_sources rtlm_source_dir)
  get_target_property(core_sources rtlm SOURCES)
  get_target_property(sim_sources rtlm_sim SOURCES)
  if(NOT sim_sources)
    message(FATAL_ERROR "rtlm::sim compiles no source")
  endif()
  foreach(source IN LISTS core_sources)
    file(READ "${rtlm_source_dir}/${source}" text)
    if(source IN_LIST sim_sources OR text MATCHES "rtlm/sim/")
      message(FATAL_ERROR "rtlm::rtlm compiles ${source}, which belongs to rtlm::sim")
    endif()
  endforeach()
  get_target_property(core_links rtlm LINK_LIBRARIES)
  if(core_links MATCHES "sim")
    message(FATAL_ERROR "rtlm::rtlm links ${core_links}: a server would link the simulator")
  endif()
  message(STATUS "rtlm::rtlm compiles none of rtlm::sim's sources")
endfunction()
