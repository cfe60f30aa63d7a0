// The one Boost.Test entry point of every test executable. MPI is initialised here so that
// tests in tests/mpi/ (run under mpiexec) and single-process tests share one main.
#define BOOST_TEST_MODULE zerotune
#define BOOST_TEST_NO_MAIN
#include <mpi.h>

#include <boost/test/unit_test.hpp>

int main(int argc, char* argv[]) {
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  int rc = boost::unit_test::unit_test_main([] { return true; }, argc, argv);
  // A failure on one rank must fail the job, not leave the other ranks waiting.
  int world = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &world);
  if (world > 1) {
    int worst = rc;
    MPI_Allreduce(&rc, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    rc = worst;
  }
  MPI_Finalize();
  return rc;
}
