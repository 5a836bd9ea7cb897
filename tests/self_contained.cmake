# Checks that the project stands on its own: no text file may point to the design brief or to the
# reference-data folder that lived beside the repository during development. A user who clones
# the project has neither; what a reader needs is in docs/methods.md and in the data READMEs.
# Scans the files git knows (tracked, plus untracked ones that are not ignored) when SOURCE is a
# git work tree, else every file under SOURCE except .git and build folders. Fails naming each
# file and line.
# Usage: cmake -DSOURCE=<repository root> -P self_contained.cmake
cmake_minimum_required(VERSION 3.21)
if(NOT DEFINED SOURCE OR NOT IS_DIRECTORY "${SOURCE}")
  message(FATAL_ERROR "usage: cmake -DSOURCE=<repository root> -P self_contained.cmake")
endif()
get_filename_component(SOURCE "${SOURCE}" ABSOLUTE)

# The forbidden strings, built in pieces so that this file does not contain them itself.
string(CONCAT brief_name "DESIGN" ".md")
string(CONCAT data_path ".." "/shared")
string(CONCAT pattern "DESIGN" "\\.md|\\.\\./" "shared")

set(files "")
find_program(git_executable git)
if(git_executable)
  execute_process(
    COMMAND "${git_executable}" -C "${SOURCE}" rev-parse --is-inside-work-tree
    RESULT_VARIABLE git_status OUTPUT_QUIET ERROR_QUIET)
  if(git_status EQUAL 0)
    execute_process(
      COMMAND "${git_executable}" -C "${SOURCE}" -c core.quotePath=false ls-files --cached --others
              --exclude-standard
      RESULT_VARIABLE git_status OUTPUT_VARIABLE listing ERROR_VARIABLE git_error)
    if(NOT git_status EQUAL 0)
      message(FATAL_ERROR "git ls-files failed in ${SOURCE}: ${git_error}")
    endif()
    string(REPLACE "\n" ";" files "${listing}")
    set(how "files git lists")
  endif()
endif()
if(NOT how)
  file(GLOB_RECURSE files LIST_DIRECTORIES false RELATIVE "${SOURCE}" "${SOURCE}/*")
  list(FILTER files EXCLUDE REGEX "(^|/)\\.git/|^build[^/]*/|^rtlm-sim-out/")
  set(how "files under the source tree")
endif()

set(scanned 0)
set(found 0)
foreach(name IN LISTS files)
  if(name STREQUAL "" OR NOT EXISTS "${SOURCE}/${name}" OR IS_DIRECTORY "${SOURCE}/${name}")
    continue()
  endif()
  math(EXPR scanned "${scanned} + 1")
  # file(STRINGS) copes with binary files; only a file with a hit is read again for line numbers.
  file(STRINGS "${SOURCE}/${name}" hits REGEX "${pattern}")
  if(NOT hits)
    continue()
  endif()
  file(READ "${SOURCE}/${name}" text)
  string(LENGTH "${text}" text_length)
  set(offset 0)
  set(line 1)
  set(found_here 0)
  while(offset LESS text_length)
    string(SUBSTRING "${text}" ${offset} -1 rest)
    string(FIND "${rest}" "${brief_name}" at_brief)
    string(FIND "${rest}" "${data_path}" at_data)
    if(at_brief EQUAL -1 AND at_data EQUAL -1)
      break()
    endif()
    if(at_data EQUAL -1 OR (NOT at_brief EQUAL -1 AND at_brief LESS at_data))
      set(at ${at_brief})
      set(what "${brief_name}")
    else()
      set(at ${at_data})
      set(what "${data_path}")
    endif()
    string(SUBSTRING "${rest}" 0 ${at} before)
    string(REGEX MATCHALL "\n" newlines "${before}")
    list(LENGTH newlines count)
    math(EXPR line "${line} + ${count}")
    message(SEND_ERROR "${name}:${line}: mentions ${what}, which the project does not hold")
    math(EXPR found_here "${found_here} + 1")
    string(LENGTH "${what}" what_length)
    math(EXPR offset "${offset} + ${at} + ${what_length}")
  endwhile()
  if(found_here EQUAL 0)
    # A binary file (file(READ) stops at a NUL byte): no line number, but still a failure.
    list(LENGTH hits found_here)
    message(SEND_ERROR "${name}: mentions ${brief_name} or ${data_path} (binary file)")
  endif()
  math(EXPR found "${found} + ${found_here}")
endforeach()

if(scanned EQUAL 0)
  message(FATAL_ERROR "no files found to scan under ${SOURCE}")
endif()
if(found GREATER 0)
  message(FATAL_ERROR "${found} reference(s) to files outside the project; point to the "
                      "project's own docs instead (docs/methods.md)")
endif()
message(STATUS "self-contained: ${scanned} ${how} scanned, no reference outside the project")
