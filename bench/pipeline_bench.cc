// The whole user-space path on one core: ring-buffer record -> decode ->
// enrich -> policies/default.yaml (user-space half) -> every built-in
// detection -> JSON, as the sensor runs it (engine/src/pipeline.cc). For a
// benign security_file_open (a detection input no policy outputs), a benign
// openat the default policy's filters drop, an exec (output and detection
// input), and a /etc/shadow open that fires a detection. No kernel needed.
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "record_builder.h"
#include "vigil/engine/detections.h"
#include "vigil/engine/json.h"
#include "vigil/engine/pipeline.h"
#include "vigil/engine/startup.h"
#include "vigil/events/event_ids.h"
#include "vigil_event.h"

namespace {

using vigil::test_support::RecordBuilder;
namespace engine = vigil::engine;
namespace events = vigil::events;

double Seconds() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

// The kernel's mask for a record of `id`: the policies that capture it.
uint64_t KernelMask(const engine::Selection& s, uint32_t id) {
  for (const engine::SelectedEvent& e : s.events)
    if (e.def->id == id) return e.policies;
  return 0;
}

struct Case {
  const char* name;
  std::vector<uint8_t> record;
};

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 1000000;
  auto detections = engine::LoadDetections({});
  if (!detections.ok()) {
    std::fprintf(stderr, "%s\n", std::string(detections.status().message()).c_str());
    return 1;
  }
  engine::SensorOptions options;
  options.policy_paths = {std::string(VIGIL_SOURCE_DIR) + "/policies/default.yaml"};
  auto selection = engine::BuildSelection(options);
  if (!selection.ok()) {
    std::fprintf(stderr, "%s\n", std::string(selection.status().message()).c_str());
    return 1;
  }
  std::set<uint32_t> enabled;
  for (const engine::SelectedEvent& e : selection->events)
    if (engine::IsDetection(*e.def)) enabled.insert(e.def->id);
  (*detections)->Enable(enabled);

  auto record = [&](uint32_t id, int32_t nr) {
    RecordBuilder b(id, nr);
    b.header().policies = KernelMask(*selection, id);
    std::strcpy(b.header().comm, "cat");
    return b;
  };
  std::vector<Case> cases;
  {
    RecordBuilder b = record(events::kSecurityFileOpen, 257);
    b.Str(0, "/usr/lib/x86_64-linux-gnu/libc.so.6").U64(1, 0100000).U64(2, 2049).U64(3, 1234).U64(4, 0);
    b.Str(5, "/lib/x86_64-linux-gnu/libc.so.6").U64(6, 257);
    cases.push_back({"security_file_open (benign, detection input only)", b.Build()});
  }
  {
    RecordBuilder b = record(257, 257);
    b.U64(0, static_cast<uint64_t>(-100)).Str(1, "/etc/ld.so.cache").U64(2, 02000000).U64(3, 0);
    cases.push_back({"openat (dropped by the default policy's filters)", b.Build()});
  }
  {
    RecordBuilder b = record(events::kSchedProcessExec, -1);
    b.Str(0, "/usr/bin/cat").Str(1, "/usr/bin/cat").U64(2, 0x10300000).U64(3, 247304);
    b.U64(4, 1663687647000000000ULL).U64(5, 0100755);
    b.Str(7, std::string_view("cat\0-n\0/etc/hostname\0", 22), VG_KIND_BYTES).U64(8, 3);
    cases.push_back({"sched_process_exec (output and detection input)", b.Build()});
  }
  {
    RecordBuilder b = record(events::kSecurityFileOpen, 257);
    b.Str(0, "/etc/shadow")
        .U64(1, 0100000)
        .U64(2, 2049)
        .U64(3, 99)
        .U64(4, 0)
        .Str(5, "/etc/shadow")
        .U64(6, 257);
    cases.push_back({"security_file_open of /etc/shadow (fires a detection)", b.Build()});
  }

  const std::filesystem::path cgroups = std::filesystem::temp_directory_path() / "vigil-pipeline-bench";
  std::filesystem::create_directories(cgroups);
  std::printf(
      "decode + enrich + default policy + %zu built-in detections + JSON, one core, %d records each\n",
      enabled.size(), n);
  for (const Case& c : cases) {
    engine::ProcessTree tree;
    engine::ContainerResolver containers(cgroups.string());
    engine::Enricher enricher(tree, containers, engine::Enricher::OptionsForThisProcess(0));
    events::Decoder decoder(events::Registry::Builtin(), 0);
    std::string out;
    out.reserve(1 << 20);
    size_t lines = 0;
    engine::Pipeline pipeline(decoder, enricher, *selection->policies, [&](const events::Event& e) {
      engine::AppendEventJson(out, e, selection->policies->names());
      ++lines;
      if (out.size() > (1 << 20) - 8192) out.clear();  // as an output flushes its buffer
    });
    engine::RulesDetectStage detect(**detections, tree);
    pipeline.set_detect_stage(&detect, &selection->detection_inputs);
    const double start = Seconds();
    for (int i = 0; i < n; ++i) pipeline.OnRecord(c.record);
    const double elapsed = Seconds() - start;
    std::printf("  %-56s %6.2f M records/s  (%zu lines out, %llu detections, %llu undecodable)\n", c.name,
                n / elapsed / 1e6, lines, static_cast<unsigned long long>(pipeline.counters().detections),
                static_cast<unsigned long long>(pipeline.counters().decode_errors));
  }
  std::filesystem::remove_all(cgroups);
  return 0;
}
