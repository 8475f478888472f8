// `vigil list`: the registry as a table or JSON.
#pragma once

#include <ostream>

namespace vigil::engine {

int PrintRegistry(std::ostream& out, bool json);

}  // namespace vigil::engine
