// ZT_NCCL_CHECK: a failed NCCL call becomes a LibraryError naming the call, the file and line
// and NCCL's own error string; ncclInProgress (non-blocking mode) is not a failure. Needs no
// GPU: ncclGetErrorString is plain host code.
#if defined(ZEROTUNE_WITH_NCCL)

#include "../../src/comm/nccl_check.hpp"

#include <boost/test/unit_test.hpp>
#include <string>

BOOST_AUTO_TEST_SUITE(nccl_check)

BOOST_AUTO_TEST_CASE(failure_names_call_file_line_and_nccl_string) {
  const std::string expected_reason = ncclGetErrorString(ncclInvalidArgument);
  BOOST_CHECK_EXCEPTION(ZT_NCCL_CHECK(ncclInvalidArgument), zerotune::LibraryError,
                        [&](const zerotune::LibraryError& e) {
                          const std::string m = e.what();
                          BOOST_TEST_MESSAGE(m);
                          return m.find(
                                     "NCCL: ncclInvalidArgument failed at "
                                     "nccl_check_test.cpp:") == 0 &&
                                 m.find(expected_reason) != std::string::npos;
                        });
}

BOOST_AUTO_TEST_CASE(success_and_in_progress_pass_through) {
  BOOST_TEST(ZT_NCCL_CHECK(ncclSuccess) == ncclSuccess);
  BOOST_TEST(ZT_NCCL_CHECK(ncclInProgress) == ncclInProgress);
}

BOOST_AUTO_TEST_SUITE_END()

#endif  // ZEROTUNE_WITH_NCCL
