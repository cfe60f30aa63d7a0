// Stop signals as they really arrive (raise), the precedence that lets a preempted job's
// SIGUSR1 win over SLURM's SIGTERM, and the exit codes: 85 asks for a requeue, the shell's
// 128 + signal number (130 for SIGINT, 143 for SIGTERM on Linux) means stopped for good.
#include "zerotune/runtime/stop_signal.hpp"

#include <boost/test/unit_test.hpp>
#include <csignal>

namespace rt = zerotune::runtime;

namespace {
// Installs the stop handlers for one test and puts the previous ones back afterwards, so a
// Ctrl-C on the test executable still ends it.
struct HandlersInstalled {
  struct sigaction previous[3]{};
  const int signals[3] = {SIGINT, SIGTERM, SIGUSR1};
  HandlersInstalled() {
    for (int i = 0; i < 3; ++i) sigaction(signals[i], nullptr, &previous[i]);
    rt::request_stop(0);
    rt::install_stop_signal_handlers();
  }
  ~HandlersInstalled() {
    for (int i = 0; i < 3; ++i) sigaction(signals[i], &previous[i], nullptr);
    rt::request_stop(0);
  }
};
}  // namespace

BOOST_AUTO_TEST_SUITE(stop_signal)

BOOST_FIXTURE_TEST_CASE(each_stop_signal_sets_the_flag_instead_of_ending_the_process,
                        HandlersInstalled) {
  for (const int s : {SIGINT, SIGTERM, SIGUSR1}) {
    rt::request_stop(0);
    BOOST_TEST(rt::stop_signal_received() == 0);
    BOOST_REQUIRE(std::raise(s) == 0);  // without the handler, this would end the test
    BOOST_TEST(rt::stop_signal_received() == s);
  }
}

BOOST_FIXTURE_TEST_CASE(a_requeue_request_wins_whatever_the_order, HandlersInstalled) {
  std::raise(SIGTERM);
  std::raise(SIGUSR1);
  BOOST_TEST(rt::stop_signal_received() == SIGUSR1);
  rt::request_stop(0);
  std::raise(SIGUSR1);
  std::raise(SIGTERM);
  std::raise(SIGINT);
  BOOST_TEST(rt::stop_signal_received() == SIGUSR1);
  rt::request_stop(0);
  std::raise(SIGINT);
  std::raise(SIGTERM);
  BOOST_TEST(rt::stop_signal_received() == SIGTERM);
}

BOOST_AUTO_TEST_CASE(precedence_round_trips_for_the_all_reduce) {
  for (const int s : {SIGINT, SIGTERM, SIGUSR1}) {
    BOOST_TEST(rt::stop_precedence(s) > 0);
    BOOST_TEST(rt::stop_signal_of_precedence(rt::stop_precedence(s)) == s);
  }
  BOOST_TEST(rt::stop_precedence(SIGUSR1) > rt::stop_precedence(SIGTERM));
  BOOST_TEST(rt::stop_precedence(SIGTERM) > rt::stop_precedence(SIGINT));
  BOOST_TEST(rt::stop_precedence(0) == 0);
  BOOST_TEST(rt::stop_precedence(SIGHUP) == 0);
  BOOST_TEST(rt::stop_signal_of_precedence(0) == 0);
}

BOOST_AUTO_TEST_CASE(exit_codes_follow_the_documented_table) {
  BOOST_TEST(rt::stop_exit_code(0) == 0);
  BOOST_TEST(rt::stop_exit_code(SIGUSR1) == 85);
  BOOST_TEST(rt::stop_exit_code(SIGINT) == 130);   // what bash reports after Ctrl-C
  BOOST_TEST(rt::stop_exit_code(SIGTERM) == 143);  // what bash reports after `kill`
  BOOST_TEST(rt::is_requeue_exit_code(85));
  BOOST_TEST(!rt::is_requeue_exit_code(143));
  for (const int code : {85, 130, 143}) BOOST_TEST(rt::is_stopped_exit_code(code));
  for (const int code : {0, 1, 2, 3, 4, 137}) BOOST_TEST(!rt::is_stopped_exit_code(code));
}

BOOST_AUTO_TEST_SUITE_END()
