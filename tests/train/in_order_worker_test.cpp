// The offloaded step's background run: tasks in order, done() as they finish, the first
// exception reaching the waiting thread, and nothing left running.
#include "zerotune/train/in_order_worker.hpp"

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

using zerotune::train::InOrderWorker;

BOOST_AUTO_TEST_SUITE(in_order_worker)

BOOST_AUTO_TEST_CASE(runs_tasks_in_order_and_reports_each) {
  InOrderWorker worker;
  BOOST_TEST(worker.done(0, false));  // no run yet
  std::atomic<int> released{0};
  std::vector<int> order;
  worker.start(4, [&](int i) {
    while (released.load() <= i) std::this_thread::yield();  // the test lets each one go
    order.push_back(i);
  });
  BOOST_TEST(worker.running());
  BOOST_TEST(!worker.done(0, false));
  released = 1;
  BOOST_TEST(worker.done(0, true));
  BOOST_TEST(!worker.done(1, false));
  released = 4;
  BOOST_TEST(worker.done(3, true));
  worker.finish();
  BOOST_TEST(!worker.running());
  BOOST_TEST(order == (std::vector<int>{0, 1, 2, 3}), boost::test_tools::per_element());
  BOOST_TEST(worker.done(7, false));  // past the run: nothing to wait for
}

BOOST_AUTO_TEST_CASE(a_failed_task_reaches_every_waiter_and_stops_the_run) {
  InOrderWorker worker;
  std::atomic<int> ran{0};
  worker.start(5, [&](int i) {
    ++ran;
    if (i == 2) throw std::runtime_error("task 2 failed");
  });
  // A wait for a later task does not hang: it sees the failure.
  BOOST_CHECK_THROW(worker.done(4, true), std::runtime_error);
  BOOST_CHECK_THROW(worker.finish(), std::runtime_error);
  BOOST_TEST(ran.load() == 3);  // tasks after the failed one never ran
  // The worker can run again after a failure.
  worker.start(2, [](int) {});
  worker.finish();
  BOOST_TEST(worker.done(1, false));
}

BOOST_AUTO_TEST_CASE(start_finishes_the_previous_run_first) {
  InOrderWorker worker;
  std::atomic<int> ran{0};
  worker.start(3, [&](int) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    ++ran;
  });
  worker.start(1, [&](int) { ran += 10; });
  worker.finish();
  BOOST_TEST(ran.load() == 13);
}

BOOST_AUTO_TEST_SUITE_END()
