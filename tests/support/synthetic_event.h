// Decoded events built by hand, for unit tests of what consumes them (the
// process tree, the pipeline's stages): no record, no decoder.
#ifndef VIGIL_TESTS_SUPPORT_SYNTHETIC_EVENT_H_
#define VIGIL_TESTS_SUPPORT_SYNTHETIC_EVENT_H_

#include <cstdint>
#include <utility>

#include "gtest/gtest.h"
#include "vigil/events/event.h"
#include "vigil/events/registry.h"

namespace vigil::test_support {

// The built-in registry's definition of event `name`; fails the test if there is none.
inline const events::EventDef& Def(const char* name) {
  const events::EventDef* d = events::Registry::Builtin().Find(name);
  EXPECT_NE(d, nullptr) << name;
  return *d;
}

// Sets argument `name` of e's definition (at its index) to `value`, typed
// as the decoder leaves it; fails the test if the event has no such argument.
inline void AddArg(events::Event& e, const char* name, events::Value value) {
  const int index = e.def->ArgIndex(name);
  ASSERT_GE(index, 0) << name;
  e.SetArg(static_cast<size_t>(index)).value = std::move(value);
}

}  // namespace vigil::test_support

#endif  // VIGIL_TESTS_SUPPORT_SYNTHETIC_EVENT_H_
