# Every dependency comes from a Debian 12 package; tools/install-deps installs them all.
# A missing one stops configuration with the package to install.

function(egret_missing what package)
  message(FATAL_ERROR
    "Egret needs ${what}, which was not found.\n"
    "Install it with:  apt-get install -y ${package}\n"
    "(or run tools/install-deps, which installs every dependency).")
endfunction()

find_package(PkgConfig QUIET)
if(NOT PkgConfig_FOUND)
  egret_missing("pkg-config" "pkg-config")
endif()

# --- MPI (Open MPI) ---
find_package(MPI QUIET COMPONENTS C)
if(NOT MPI_C_FOUND)
  egret_missing("MPI (Open MPI)" "libopenmpi-dev openmpi-bin")
endif()

# --- HDF5, serial C API ---
pkg_check_modules(HDF5 QUIET IMPORTED_TARGET hdf5-serial)
if(NOT HDF5_FOUND)
  egret_missing("HDF5 (serial)" "libhdf5-dev")
endif()

# --- toml++ ---
find_package(tomlplusplus 3 QUIET)
if(NOT tomlplusplus_FOUND)
  egret_missing("toml++ 3" "libtomlplusplus-dev")
endif()

# --- Boost.Program_options ---
find_package(Boost 1.74 QUIET COMPONENTS program_options)
if(NOT Boost_FOUND)
  egret_missing("Boost.Program_options" "libboost-program-options-dev")
endif()

# --- JSON ---
find_package(nlohmann_json 3 QUIET)
if(NOT nlohmann_json_FOUND)
  egret_missing("nlohmann-json 3" "nlohmann-json3-dev")
endif()

# --- PCRE2 (tokenizer pre-tokenizer regexes) ---
pkg_check_modules(PCRE2 QUIET IMPORTED_TARGET libpcre2-8)
if(NOT PCRE2_FOUND)
  egret_missing("PCRE2" "libpcre2-dev")
endif()

# --- ICU (Unicode normalisation and character properties for tokenizers) ---
pkg_check_modules(ICU QUIET IMPORTED_TARGET icu-uc)
if(NOT ICU_FOUND)
  egret_missing("ICU" "libicu-dev")
endif()

# --- BLAS for CPU GEMMs: OpenBLAS with its pthread threading ---
pkg_check_modules(OPENBLAS QUIET IMPORTED_TARGET openblas)
if(NOT OPENBLAS_FOUND)
  egret_missing("OpenBLAS" "libopenblas-dev libopenblas0-pthread")
endif()

# --- libcrypto (SHA-256 of datasets, tokenizers and checkpoints) ---
pkg_check_modules(LIBCRYPTO QUIET IMPORTED_TARGET libcrypto)
if(NOT LIBCRYPTO_FOUND)
  egret_missing("libcrypto (OpenSSL)" "libssl-dev")
endif()

# --- SQLite (the quota ledger) ---
pkg_check_modules(SQLITE3 QUIET IMPORTED_TARGET sqlite3)
if(NOT SQLITE3_FOUND)
  egret_missing("SQLite 3" "libsqlite3-dev")
endif()

# --- munge ---
pkg_check_modules(MUNGE QUIET IMPORTED_TARGET munge)
if(NOT MUNGE_FOUND)
  egret_missing("MUNGE" "libmunge-dev munge")
endif()

# --- libslurm and the SPANK header ---
find_path(SLURM_INCLUDE_DIR slurm/spank.h)
find_library(SLURM_LIBRARY slurm)
if(NOT SLURM_INCLUDE_DIR OR NOT SLURM_LIBRARY)
  egret_missing("libslurm and slurm/spank.h" "libslurm-dev slurm-wlm-basic-plugins-dev")
endif()
add_library(egret_slurm INTERFACE)
add_library(egret::slurm ALIAS egret_slurm)
target_include_directories(egret_slurm SYSTEM INTERFACE ${SLURM_INCLUDE_DIR})
target_link_libraries(egret_slurm INTERFACE ${SLURM_LIBRARY})

# --- test and bench frameworks ---
if(EGRET_TESTS)
  find_package(GTest QUIET)
  if(NOT GTest_FOUND)
    egret_missing("GoogleTest" "libgtest-dev libgmock-dev")
  endif()
endif()
if(EGRET_BENCH)
  find_package(benchmark QUIET)
  if(NOT benchmark_FOUND)
    egret_missing("Google Benchmark" "libbenchmark-dev")
  endif()
endif()

find_package(Threads REQUIRED)
