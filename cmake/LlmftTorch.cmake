# Locates libtorch and defines:
#   target `torch`               (from TorchConfig.cmake)
#   LLMFT_TORCH_SOURCE           a sentence saying which libtorch was picked and why
#   LLMFT_TORCH_LIBRARY_DIR      directory holding libtorch*.so (for the binaries' RPATH)
#
# Order of preference (the first that applies wins):
#   1. Torch_DIR given by the user                       -> that libtorch
#   2. CMAKE_PREFIX_PATH in which TorchConfig is found   -> that libtorch
#   3. LLMFT_PYTHON, or python3 on PATH, whose torch has CUDA -> its bundled libtorch
#   4. the project venv (.venv/bin/python, made by scripts/install-deps.sh) -> its CPU libtorch

set(LLMFT_PYTHON "" CACHE FILEPATH "Python interpreter whose torch wheel provides libtorch")

function(_llmft_torch_prefix_from_python python out_prefix out_cuda)
  execute_process(
    COMMAND ${python} -c "import torch,torch.utils;print(torch.utils.cmake_prefix_path);print(int(torch.version.cuda is not None))"
    OUTPUT_VARIABLE _out ERROR_QUIET RESULT_VARIABLE _rc OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(_rc EQUAL 0)
    string(REPLACE "\n" ";" _lines "${_out}")
    list(GET _lines 0 _prefix)
    list(GET _lines 1 _cuda)
    set(${out_prefix} "${_prefix}" PARENT_SCOPE)
    set(${out_cuda} "${_cuda}" PARENT_SCOPE)
  else()
    set(${out_prefix} "" PARENT_SCOPE)
    set(${out_cuda} 0 PARENT_SCOPE)
  endif()
endfunction()

set(_source "")
if(Torch_DIR AND LLMFT_TORCH_AUTO_DIR AND Torch_DIR STREQUAL LLMFT_TORCH_AUTO_DIR)
  # Torch_DIR was cached by our own discovery on an earlier configure: report that choice again.
  set(_source "${LLMFT_TORCH_AUTO_SOURCE}")
elseif(Torch_DIR OR DEFINED ENV{Torch_DIR})
  if(NOT Torch_DIR)
    set(Torch_DIR "$ENV{Torch_DIR}")
  endif()
  set(_source "Torch_DIR=${Torch_DIR}")
else()
  find_package(Torch CONFIG QUIET)
  if(Torch_FOUND)
    set(_source "CMAKE_PREFIX_PATH (${Torch_DIR})")
  endif()
endif()

if(NOT _source)
  set(_candidates "")
  if(LLMFT_PYTHON)
    list(APPEND _candidates "${LLMFT_PYTHON}")
  endif()
  find_program(_system_python NAMES python3 NO_CACHE)
  if(_system_python)
    list(APPEND _candidates "${_system_python}")
  endif()
  foreach(_py IN LISTS _candidates)
    _llmft_torch_prefix_from_python(${_py} _prefix _cuda)
    if(_prefix AND (_cuda OR _py STREQUAL LLMFT_PYTHON))
      list(PREPEND CMAKE_PREFIX_PATH "${_prefix}")
      set(_source "torch from ${_py} (CUDA=${_cuda})")
      break()
    endif()
  endforeach()
endif()

if(NOT _source)
  set(_venv_python "${CMAKE_CURRENT_SOURCE_DIR}/.venv/bin/python")
  if(EXISTS "${_venv_python}")
    _llmft_torch_prefix_from_python(${_venv_python} _prefix _cuda)
    if(_prefix)
      list(PREPEND CMAKE_PREFIX_PATH "${_prefix}")
      set(_source "project venv torch (${_venv_python}, CUDA=${_cuda})")
    endif()
  endif()
endif()

if(NOT _source)
  message(FATAL_ERROR
    "llmft: no libtorch found. Run scripts/install-deps.sh (creates .venv with the torch wheel), "
    "or pass -DTorch_DIR=/path/to/libtorch/share/cmake/Torch, or -DLLMFT_PYTHON=/path/to/python with torch installed.")
endif()

# TorchConfig.cmake looks for CUDA toolkits and complains loudly about kineto; keep it quiet.
find_package(Torch REQUIRED CONFIG)
get_filename_component(_torch_root "${TORCH_INSTALL_PREFIX}" ABSOLUTE)
set(LLMFT_TORCH_LIBRARY_DIR "${_torch_root}/lib")
set(LLMFT_TORCH_SOURCE "${_source}")
if(NOT _source MATCHES "^Torch_DIR=")
  set(LLMFT_TORCH_AUTO_DIR "${Torch_DIR}" CACHE INTERNAL "Torch_DIR found by llmft's discovery")
  set(LLMFT_TORCH_AUTO_SOURCE "${_source}" CACHE INTERNAL "how llmft found libtorch")
endif()
message(STATUS "llmft: libtorch ${Torch_VERSION} from ${LLMFT_TORCH_SOURCE}")
