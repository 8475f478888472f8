#include "defined_events.h"

#include <stdexcept>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

namespace vigil::events {
namespace {

struct DefinedEvent {
  uint32_t id;
  const char* name;
  std::vector<ArgDef> args;
};

const std::vector<DefinedEvent>& Table() {
  static const std::vector<DefinedEvent>* table = new std::vector<DefinedEvent>{
#define VG_EVENT(E, camel, id, name) {id, #name, {
#define VG_ARG(E, A, name, type, format) {name, type, ArgFormat::k##format},
#define VG_END(E) \
  }               \
  }               \
  ,
#include "events.def"
#undef VG_EVENT
#undef VG_ARG
#undef VG_END
  };
  return *table;
}

}  // namespace

EventDef Defined(uint32_t id, EventDef rest) {
  for (const DefinedEvent& d : Table()) {
    if (d.id != id) continue;
    rest.id = d.id;
    rest.name = d.name;
    rest.args = d.args;
    return rest;
  }
  throw std::logic_error(absl::StrCat("event id ", id, " is not in bpf/events.def"));
}

}  // namespace vigil::events
