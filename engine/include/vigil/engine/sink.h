// Where events go: JSON lines or an aligned table, to stdout or a 0600 file.
#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "vigil/events/event.h"

namespace vigil::engine {

enum class SinkFormat { kJson, kTable };

struct SinkSpec {
  SinkFormat format = SinkFormat::kTable;
  std::string path;  // empty: stdout
};

// Parses "json", "table", "json:/var/log/vigil.json".
absl::StatusOr<SinkSpec> ParseSinkSpec(std::string_view text);

class Sink {
 public:
  // Opens the destination; a file is created with mode 0600 (or truncated if it exists).
  static absl::StatusOr<std::unique_ptr<Sink>> Open(const SinkSpec& spec,
                                                    const std::vector<std::string>* policy_names);
  ~Sink();
  Sink(const Sink&) = delete;
  Sink& operator=(const Sink&) = delete;

  void Write(const events::Event& e);
  // Writes out whole lines buffered so far; a line is never split across flushes.
  absl::Status Flush();
  uint64_t written() const { return written_; }
  const SinkSpec& spec() const { return spec_; }

 private:
  Sink(SinkSpec spec, int fd, bool owned, const std::vector<std::string>* policy_names);
  void WriteTableHeader();

  SinkSpec spec_;
  int fd_;
  bool owned_;
  const std::vector<std::string>* policy_names_;
  std::string buffer_;
  uint64_t written_ = 0;
  bool header_done_ = false;
};

}  // namespace vigil::engine
