# egret_test(NAME <name> LABEL unit|mpi|slurm|gpu SOURCES ... [LIBS ...] [NP n] [TIMEOUT s])
#
# unit/slurm/gpu: every TEST() becomes its own CTest entry (discovered before the run).
# mpi: the whole binary runs once under `mpirun -np NP` (default 2).
# A test that calls GTEST_SKIP is reported by CTest as skipped, not passed.
include(GoogleTest)

set(EGRET_MPIRUN_ENV
  OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_mpi_yield_when_idle=1
  OMPI_MCA_hwloc_base_binding_policy=none
  # Open MPI and PMIx plugins leak at MPI_Init by design, from unloaded modules that
  # LeakSanitizer cannot name, so leak checking is off under mpirun; ASan's other checks
  # stay on, and the same code runs leak-checked in the unit tests.
  ASAN_OPTIONS=detect_leaks=0:abort_on_error=1)

function(egret_test)
  cmake_parse_arguments(T "" "NAME;LABEL;NP;TIMEOUT" "SOURCES;LIBS" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} GTest::gtest GTest::gmock egret::warnings)
  if(T_LABEL STREQUAL "mpi")
    if(NOT T_NP)
      set(T_NP 2)
    endif()
    target_link_libraries(${T_NAME} PRIVATE MPI::MPI_C)
    add_test(NAME ${T_NAME}
             COMMAND ${CMAKE_COMMAND} -E env ${EGRET_MPIRUN_ENV}
                     ${MPIEXEC_EXECUTABLE} -np ${T_NP} $<TARGET_FILE:${T_NAME}>)
    set_tests_properties(${T_NAME} PROPERTIES LABELS mpi TIMEOUT ${T_TIMEOUT}
                         SKIP_REGULAR_EXPRESSION "\\[  SKIPPED \\]")
  else()
    target_link_libraries(${T_NAME} PRIVATE GTest::gtest_main)
    set(extra "")
    if(T_LABEL STREQUAL "slurm")
      # One cluster, shared: its tests run one at a time, inside the fixture.
      set(extra FIXTURES_REQUIRED slurm_cluster RESOURCE_LOCK slurm_cluster)
    endif()
    gtest_discover_tests(${T_NAME}
      DISCOVERY_MODE PRE_TEST
      PROPERTIES LABELS ${T_LABEL} TIMEOUT ${T_TIMEOUT} ${extra}
                 SKIP_REGULAR_EXPRESSION "\\[  SKIPPED \\]")
  endif()
endfunction()
