#include "vigil/engine/path_filters.h"

#include <algorithm>
#include <cstring>
#include <set>

#include "path_watch.h"
#include "vigil_event.h"

namespace vigil::engine {
namespace {

constexpr const char* kPathArgs[] = {"pathname", "path", "filename"};

// Non-syscall events whose path argument the kernel filters on (their
// handlers call vg_filter_rec_path): the argument's name.
std::string_view KernelPathArg(const events::EventDef& def) {
  if (def.name == "security_inode_rename") return "new_path";
  return {};
}

// The patterns of a filter, if the kernel can decide it: `data.<path>=` with
// only exact and prefix values that fit the trie key.
bool KernelPatterns(const policies::Filter& f, const std::string& arg, std::vector<std::string>& keys) {
  using Match = policies::FilterValue::Match;
  if (f.kind != policies::Filter::Kind::kData || f.arg != arg || f.op != policies::Op::kEq) return false;
  std::vector<std::string> out;
  for (const policies::FilterValue& v : f.values) {
    if (v.match != Match::kExact && v.match != Match::kPrefix) return false;
    if (v.text.size() + 1 >= VG_PATH_KEY_LEN) return false;
    out.push_back(v.match == Match::kExact ? v.text + std::string(1, '\0') : v.text);
  }
  if (out.empty()) return false;
  keys = std::move(out);
  return true;
}

}  // namespace

PathFilterPlan PlanPathFilters(policies::CompiledPolicies& compiled, const events::Registry& registry) {
  PathFilterPlan plan;
  std::map<std::pair<uint32_t, std::string>, uint64_t> own;  // what each pattern's policies are
  for (const auto& [event_id, mask] : compiled.event_policies()) {
    const events::EventDef* def = registry.FindId(event_id);
    if (def == nullptr) continue;
    int arg = -1;
    if (def->is_syscall()) {
      for (const char* name : kPathArgs) {
        int i = def->ArgIndex(name);
        if (i >= 0 && i < 6 && def->args[i].capture == events::Capture::kString) {
          arg = i;
          break;
        }
      }
    } else if (std::string_view name = KernelPathArg(*def); !name.empty()) {
      arg = def->ArgIndex(std::string(name));
    }
    if (arg < 0) continue;
    for (size_t p = 0; p < compiled.names().size() && p < 64; ++p) {
      if (!((mask >> p) & 1)) continue;
      const std::vector<policies::Filter>* filters = compiled.FiltersOf(p, event_id);
      if (filters == nullptr) continue;
      for (size_t f = 0; f < filters->size(); ++f) {
        std::vector<std::string> keys;
        if (!KernelPatterns((*filters)[f], def->args[arg].name, keys)) continue;
        for (const std::string& k : keys) own[{event_id, k}] |= uint64_t{1} << p;
        plan.events[event_id].arg = arg;
        plan.events[event_id].policies |= uint64_t{1} << p;
        compiled.MarkDecidedInKernel(p, event_id, f);
        break;  // one filter per rule is enough to prefilter (rule filters AND)
      }
    }
  }
  // The trie returns only the longest match: fold every shorter pattern's
  // policies into the longer ones it is a prefix of.
  for (const auto& [k, mask] : own) {
    uint64_t all = 0;
    for (const auto& [other, other_mask] : own)
      if (other.first == k.first && k.second.starts_with(other.second)) all |= other_mask;
    plan.entries.push_back({k.first, k.second, all});
  }
  return plan;
}

namespace {

// "/etc/ssh/ssh_host_" -> "/etc/ssh"; "/etc/sudoers.d/" -> "/etc/sudoers.d"; "/x" -> "/".
std::string DirectoryOf(std::string_view pattern) {
  size_t slash = pattern.rfind('/');
  return slash == 0 ? "/" : std::string(pattern.substr(0, slash));
}

}  // namespace

PathWatchPlan PlanPathWatch(const PathFilterPlan& paths, const std::vector<std::string>& path_prefixes) {
  PathWatchPlan plan;
  std::set<std::string> dirs, files;
  size_t shortest = VG_STR_PREFIX_MAX;
  for (const PathFilterEntry& e : paths.entries) {
    shortest = std::min(shortest, e.key.size());
    const bool exact = !e.key.empty() && e.key.back() == '\0';
    std::string_view path(e.key.data(), e.key.size() - (exact ? 1 : 0));
    if (!path.starts_with('/')) continue;  // relative: only a caller's string can match it
    dirs.insert(DirectoryOf(path));
    if (exact) files.insert(std::string(path));
  }
  for (const std::string& p : path_prefixes)
    if (p.starts_with('/')) dirs.insert(DirectoryOf(p));
  plan.dirs.assign(dirs.begin(), dirs.end());
  plan.files.assign(files.begin(), files.end());
  if (paths.entries.empty() || shortest == 0) return plan;
  plan.str_prefix_len = static_cast<uint32_t>(shortest);
  plan.str_bloom.assign(VG_STR_BLOOM_WORDS, 0);
  for (const PathFilterEntry& e : paths.entries) {
    uint64_t first = 0;
    std::memcpy(&first, e.key.data(), shortest);
    uint32_t bit = vg_str_bit(first);
    plan.str_bloom[bit / 64] |= uint64_t{1} << (bit % 64);
  }
  return plan;
}

std::vector<std::string> WatchedDirsFor(const std::string& dir, const std::function<bool(const std::string&)>& exists) {
  std::string d = dir;
  while (d != "/" && !exists(d)) d = DirectoryOf(d);
  if (d == "/") return {};  // watching the root would put every open on the slow path
  std::vector<std::string> out{d};
  if (std::string up = DirectoryOf(d); up != "/" && DirectoryOf(up) != "/") out.push_back(up);
  return out;
}

}  // namespace vigil::engine
