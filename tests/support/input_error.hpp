// Runs a callable that should throw InputError and returns its message, so that a test can
// compare the whole line the user would see: BOOST_TEST(input_error([&] { ... }) == "...").
#pragma once

#include <string>

#include "zerotune/base/error.hpp"

namespace zerotune::testing {

template <class F>
std::string input_error(F&& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "<no InputError thrown>";
}

}  // namespace zerotune::testing
