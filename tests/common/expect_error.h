#pragma once
// Expects a call to throw brigade::Error whose message contains every one of
// the given parts (the construct, its line, the file...).

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

#include "util/error.h"

namespace brigade::test {

template <typename F>
void expect_error(F&& f, std::initializer_list<std::string> parts) {
  try {
    f();
    ADD_FAILURE() << "no Error thrown";
  } catch (const Error& e) {
    for (const auto& part : parts)
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos)
          << "message '" << e.what() << "' lacks '" << part << "'";
  }
}

}  // namespace brigade::test
