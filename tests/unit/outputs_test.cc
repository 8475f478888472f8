// engine/ outputs: -o and --output-filter parsing, filters, terminal-safe
// table text, syslog and Falco rendering, safe events files and atomic
// writes, and the bounded, never-blocking queue (a pipe nobody reads, a
// reader that went away).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "vigil/engine/outputs/output.h"
#include "vigil/engine/outputs/render.h"

namespace vigil::engine {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using Clock = std::chrono::steady_clock;

const events::EventDef& OpenatDef() {
  static const events::EventDef def = [] {
    events::EventDef d;
    d.id = 257;
    d.name = "openat";
    d.sets = {"syscalls", "fs"};
    d.syscall_nr = 257;
    d.args = {events::ArgDef{.name = "pathname", .type = "const char*"}};
    return d;
  }();
  return def;
}

const events::EventDef& DetectionDef() {
  static const events::EventDef def = [] {
    events::EventDef d;
    d.id = 6018;
    d.name = "anti_debugging";
    d.description = "A process used anti-debugging techniques.";
    d.sets = {"signatures", "defense-evasion"};
    return d;
  }();
  return def;
}

events::Event MakeEvent(const events::EventDef& def, std::string comm = "cat",
                        std::string path = "/etc/passwd") {
  events::Event e;
  e.timestamp_ns = 1764370000123456789ull;
  e.pid = e.tid = e.host_pid = 4242;
  e.uid = 1000;
  e.comm = std::move(comm);
  e.host_name = "web-1";
  e.def = &def;
  e.policies = 1;
  if (!def.args.empty()) {
    events::Arg a;
    a.def = &def.args[0];
    a.value = std::move(path);
    e.args.push_back(std::move(a));
  }
  return e;
}

class TempDir {
 public:
  TempDir() {
    char t[] = "/tmp/vigil-outputs-test.XXXXXX";
    path_ = mkdtemp(t);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string operator/(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  std::string path_;
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// ------------------------------------------------------------ -o values

TEST(OutputSpecTest, ParsesEveryKind) {
  auto spec = ParseOutputSpec("json");
  ASSERT_TRUE(spec.ok());
  EXPECT_EQ(spec->kind, OutputKind::kJson);
  EXPECT_EQ(spec->target, "");
  spec = ParseOutputSpec("table:/var/log/x");
  ASSERT_TRUE(spec.ok());
  EXPECT_EQ(spec->kind, OutputKind::kTable);
  EXPECT_EQ(spec->target, "/var/log/x");
  spec = ParseOutputSpec("syslog");
  ASSERT_TRUE(spec.ok());
  EXPECT_EQ(spec->target, "unix:/dev/log");
  for (const char* ok :
       {"syslog:udp://127.0.0.1:514", "syslog:tcp://[::1]:6514", "syslog:tcp://logs.example:514",
        "syslog:unix:/run/x.sock", "webhook:http://127.0.0.1:2801/", "webhook:https://h.example/p?q=1",
        "kafka:127.0.0.1:9092/vigil", "kafka:a:1,b:2,c/events.v1"})
    EXPECT_TRUE(ParseOutputSpec(ok).ok()) << ok;
}

TEST(OutputSpecTest, MalformedTargetsNameWhatIsWrong) {
  struct Case {
    const char* text;
    const char* message;
  } cases[] = {
      {"json:", "empty path"},
      {"xml", "unknown format 'xml'"},
      {"syslog:udp://127.0.0.1", "udp://HOST:PORT"},
      {"syslog:tcp://h:99999", "tcp://HOST:PORT"},
      {"syslog:gopher://h:1", "syslog:udp://HOST:PORT"},
      {"syslog:unix:relative", "unix:/ABSOLUTE/PATH"},
      {"webhook:ftp://h/", "webhook:http://"},
      {"webhook:http:///path", "no valid host"},
      {"kafka:127.0.0.1:9092", "BROKER[,BROKER...]/TOPIC"},
      {"kafka:/topic", "BROKER[,BROKER...]/TOPIC"},
      {"kafka:b:1/", "BROKER[,BROKER...]/TOPIC"},
      {"kafka:b:1/bad topic", "not a valid Kafka topic"},
      {"kafka:b:x/t", "broker 'b:x'"},
  };
  for (const Case& c : cases) {
    auto spec = ParseOutputSpec(c.text);
    ASSERT_FALSE(spec.ok()) << c.text;
    EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(spec.status().message()), HasSubstr(c.text)) << "names the value";
    EXPECT_THAT(std::string(spec.status().message()), HasSubstr(c.message)) << c.text;
  }
}

// ------------------------------------------------------------ filters

TEST(OutputFilterTest, ConditionsAreAnded) {
  auto f = ParseOutputFilterConditions("detections,policy=a|b,severity>=2");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_TRUE(f->detections_only);
  EXPECT_EQ(f->policies, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(f->min_severity, 2);
  for (const char* bad : {"", "everything", "severity>=9", "severity>=x", "policy="})
    EXPECT_FALSE(ParseOutputFilterConditions(bad).ok()) << bad;

  OutputFilter sev;
  sev.min_severity = 2;
  events::Event e = MakeEvent(OpenatDef());
  EXPECT_FALSE(sev.Accepts(e, /*detection=*/false, -1)) << "a plain event has no severity";
  EXPECT_FALSE(sev.Accepts(e, true, 1));
  EXPECT_TRUE(sev.Accepts(e, true, 2));
  OutputFilter pol;
  pol.policy_mask = 0b10;
  e.policies = 0b01;
  EXPECT_FALSE(pol.Accepts(e, false, -1));
  e.policies = 0b11;
  EXPECT_TRUE(pol.Accepts(e, false, -1));
}

TEST(OutputFilterTest, OutputsOpenResolvesSelectorsAndPolicies) {
  TempDir dir;
  std::vector<std::string> names = {"default", "secrets"};
  OutputContext context{.policy_names = &names};
  OutputOptions options;
  options.filters = {"json:policy=secrets", "2:detections"};
  auto outputs = Outputs::Open({"json:" + dir / "a.json", "table:" + dir / "b.table"}, options, context);
  ASSERT_TRUE(outputs.ok()) << outputs.status();
  EXPECT_EQ((*outputs)->at(0).filter().policy_mask, 0b10u);
  EXPECT_FALSE((*outputs)->at(0).filter().detections_only);
  EXPECT_TRUE((*outputs)->at(1).filter().detections_only);

  options.filters = {"json:policy=nope"};
  auto bad = Outputs::Open({"json:" + dir / "c.json"}, options, context);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("no policy named 'nope'"));
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("default, secrets"));
  options.filters = {"kafka:detections"};
  bad = Outputs::Open({"json:" + dir / "c.json"}, options, context);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("no -o output is of kind 'kafka'"));
  options.filters = {"detections"};
  EXPECT_FALSE(Outputs::Open({"json:" + dir / "c.json"}, options, context).ok());
}

TEST(OutputFilterTest, DetectionsOnlyOutputGetsOnlyDetections) {
  TempDir dir;
  std::vector<std::string> names = {"default"};
  OutputContext context{.policy_names = &names,
                        .detection_severity = [](const events::EventDef&) { return 3; }};
  OutputOptions options;
  options.filters = {"1:severity>=3"};
  auto outputs = Outputs::Open({"json:" + dir / "d.json", "json:" + dir / "all.json"}, options, context);
  ASSERT_TRUE(outputs.ok()) << outputs.status();
  (*outputs)->Start();
  (*outputs)->Write(MakeEvent(OpenatDef()));
  (*outputs)->Write(MakeEvent(DetectionDef()));
  (*outputs)->Stop(Clock::now() + std::chrono::seconds(1));
  std::string d = ReadAll(dir / "d.json"), all = ReadAll(dir / "all.json");
  EXPECT_THAT(d, HasSubstr("anti_debugging"));
  EXPECT_THAT(d, Not(HasSubstr("openat")));
  EXPECT_THAT(all, HasSubstr("openat"));
  std::vector<OutputStats> stats = (*outputs)->Stats();
  EXPECT_EQ(stats[0].sent, 1u);
  EXPECT_EQ(stats[1].sent, 2u);
  EXPECT_THAT(
      (*outputs)->MetricsText(),
      HasSubstr("vigil_output_events_total{output=\"json:" + dir / "all.json" + "\",state=\"sent\"} 2\n"));
}

// ------------------------------------------------------------ table escaping

TEST(TerminalSafeTest, EscapesEveryControlCharacter) {
  std::string out;
  AppendTerminalSafe(out, "\x1b[1A\x1b[2K");
  EXPECT_EQ(out, "\\x1b[1A\\x1b[2K");
  out.clear();
  AppendTerminalSafe(out, std::string("a\0b\tc\x7f", 6));
  EXPECT_EQ(out, "a\\x00b\\x09c\\x7f");
  out.clear();
  AppendTerminalSafe(out,
                     "\x9b"
                     "31m");  // raw 8-bit CSI
  EXPECT_EQ(out, "\\x9b31m");
  out.clear();
  AppendTerminalSafe(out,
                     "\xc2\x9b"
                     "31m\xc2\x85");  // U+009B CSI, U+0085 NEL in UTF-8
  EXPECT_EQ(out, "\\u009b31m\\u0085");
  out.clear();
  AppendTerminalSafe(out, "caf\xc3\xa9 \xe2\x82\xac back\\slash");
  EXPECT_EQ(out, "caf\xc3\xa9 \xe2\x82\xac back\\\\slash") << "printable UTF-8 kept";
}

TEST(TerminalSafeTest, TableLineHasNoControlCharacterFromCommOrArgs) {
  events::Event e = MakeEvent(OpenatDef(), "\x1b[1A\x1b[2K", "/tmp/\x1b]0;owned\x07\xc2\x9b");
  std::string line;
  AppendTableLine(line, e);
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  for (size_t i = 0; i + 1 < line.size(); ++i) {
    auto c = static_cast<unsigned char>(line[i]);
    EXPECT_TRUE(c >= 0x20 && c != 0x7f) << "control byte " << int(c) << " at " << i << " in " << line;
    if (c == 0xc2) {
      EXPECT_FALSE(static_cast<unsigned char>(line[i + 1]) < 0xa0) << "UTF-8 C1 at " << i;
    }
  }
  EXPECT_THAT(line, HasSubstr("\\x1b[1A\\x1b[2K"));
  EXPECT_THAT(line, HasSubstr("pathname: /tmp/\\x1b]0;owned\\x07\\u009b"));
}

// ------------------------------------------------------------ syslog and Falco

TEST(SyslogRenderTest, SeveritiesAndRfc5424Layout) {
  EXPECT_EQ(SyslogSeverity(-1), 6);
  EXPECT_EQ(SyslogSeverity(0), 5);
  EXPECT_EQ(SyslogSeverity(1), 4);
  EXPECT_EQ(SyslogSeverity(2), 3);
  EXPECT_EQ(SyslogSeverity(3), 2);
  EXPECT_EQ(SyslogSeverity(4), 1);
  EXPECT_EQ(FalcoPriority(-1), "Informational");
  EXPECT_EQ(FalcoPriority(1), "Warning");
  EXPECT_EQ(FalcoPriority(4), "Alert");
  events::Event e = MakeEvent(OpenatDef());
  std::string msg;
  AppendSyslog5424(msg, e, "{\"a\":1}\n", SyslogSeverity(-1), "web 1", 77);
  // <daemon*8+info>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG
  EXPECT_EQ(msg, "<30>1 2025-11-28T22:46:40.123456Z web_1 vigil 77 openat - {\"a\":1}");
  msg.clear();
  AppendSyslogLocal(msg, e, "{\"a\":1}\n", SyslogSeverity(2), 77);
  EXPECT_EQ(msg, "<27>Nov 28 22:46:40 vigil[77]: {\"a\":1}");
}

TEST(FalcoRenderTest, PayloadHasFalcosFields) {
  events::Event e = MakeEvent(DetectionDef(), "python3");
  std::string out;
  AppendFalcoPayload(out, e, 1, "web-1", "0f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a");
  for (const char* field :
       {"\"uuid\":\"0f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a\"", "\"priority\":\"Warning\"",
        "\"rule\":\"anti_debugging\"", "\"time\":\"2025-11-28T22:46:40.123456789Z\"",
        "\"output_fields\":{\"evt.time\":1764370000123456789", "\"proc.name\":\"python3\"",
        "\"source\":\"syscall\"", "\"tags\":[\"signatures\",\"defense-evasion\"]", "\"hostname\":\"web-1\"",
        "\"output\":\"2025-11-28T22:46:40.123456789Z: Warning A process used"})
    EXPECT_THAT(out, HasSubstr(field));
  EXPECT_EQ(out.front(), '{');
  EXPECT_EQ(out.back(), '}');
  std::regex uuid("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  std::string a = RandomUuid(), b = RandomUuid();
  EXPECT_TRUE(std::regex_match(a, uuid)) << a;
  EXPECT_NE(a, b);
}

// ------------------------------------------------------------ safe files

TEST(SafeFileTest, NewFileIs0600AndExistingFileIsAppendedNeverTruncated) {
  TempDir dir;
  const std::string path = dir / "events.json";
  bool created = false;
  auto fd = OpenEventsFile(path, &created);
  ASSERT_TRUE(fd.ok()) << fd.status();
  EXPECT_TRUE(created);
  struct stat st {};
  ASSERT_EQ(fstat(*fd, &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(write(*fd, "one\n", 4), 4);
  close(*fd);
  fd = OpenEventsFile(path, &created);
  ASSERT_TRUE(fd.ok());
  EXPECT_FALSE(created);
  ASSERT_EQ(write(*fd, "two\n", 4), 4);
  close(*fd);
  EXPECT_EQ(ReadAll(path), "one\ntwo\n") << "the last run's events survive a restart";
}

TEST(SafeFileTest, RefusesSymlinkFifoAndDirectoryWithoutBlocking) {
  TempDir dir;
  const std::string victim = dir / "victim", link = dir / "link", fifo = dir / "fifo";
  { std::ofstream(victim) << "precious\n"; }
  ASSERT_EQ(symlink(victim.c_str(), link.c_str()), 0);
  auto fd = OpenEventsFile(link);
  ASSERT_FALSE(fd.ok());
  EXPECT_THAT(std::string(fd.status().message()), HasSubstr("symbolic link"));
  EXPECT_EQ(ReadAll(victim), "precious\n");
  ASSERT_EQ(symlink((dir / "nowhere").c_str(), (dir / "dangling").c_str()), 0);
  EXPECT_FALSE(OpenEventsFile(dir / "dangling").ok())
      << "a dangling symlink is not followed to create a file";
  EXPECT_FALSE(std::filesystem::exists(dir / "nowhere"));

  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  auto start = Clock::now();
  fd = OpenEventsFile(fifo);
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(1));
  ASSERT_FALSE(fd.ok());
  EXPECT_THAT(std::string(fd.status().message()), HasSubstr("FIFO"));
  int reader = open(fifo.c_str(), O_RDONLY | O_NONBLOCK);  // with a reader too
  fd = OpenEventsFile(fifo);
  close(reader);
  ASSERT_FALSE(fd.ok());
  EXPECT_THAT(std::string(fd.status().message()), HasSubstr("FIFO"));

  fd = OpenEventsFile(dir / "");
  EXPECT_FALSE(fd.ok());
}

TEST(SafeFileTest, CharacterDeviceIsUsedAsIsAndNeverChmodded) {
  struct stat before {
  }, after{};
  ASSERT_EQ(stat("/dev/null", &before), 0);
  auto fd = OpenEventsFile("/dev/null");
  ASSERT_TRUE(fd.ok()) << fd.status();
  close(*fd);
  ASSERT_EQ(stat("/dev/null", &after), 0);
  EXPECT_EQ(before.st_mode, after.st_mode);
}

TEST(SafeFileTest, RefusesAnotherUsersFile) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to create a file owned by another uid";
  TempDir dir;
  const std::string path = dir / "planted.json";
  { std::ofstream(path) << ""; }
  ASSERT_EQ(chown(path.c_str(), 1000, 1000), 0);
  chmod(path.c_str(), 0666);
  auto fd = OpenEventsFile(path);
  ASSERT_FALSE(fd.ok());
  EXPECT_THAT(std::string(fd.status().message()), HasSubstr("owned by uid 1000"));
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0666u) << "never chmod a file vigil did not create";
}

TEST(WriteFileAtomicallyTest, ReplacesSymlinkInsteadOfFollowingIt) {
  TempDir dir;
  const std::string victim = dir / "victim", path = dir / "ready";
  { std::ofstream(victim) << "precious\n"; }
  ASSERT_EQ(symlink(victim.c_str(), path.c_str()), 0);
  // An attacker's guess at the old predictable name is never written through.
  const std::string guess = path + ".tmp." + std::to_string(getpid());
  ASSERT_EQ(symlink(victim.c_str(), guess.c_str()), 0);
  ASSERT_TRUE(WriteFileAtomically(path, "42\n").ok());
  EXPECT_EQ(ReadAll(victim), "precious\n");
  EXPECT_EQ(ReadAll(path), "42\n");
  struct stat st {};
  ASSERT_EQ(lstat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  size_t files = 0;
  for (auto& entry : std::filesystem::directory_iterator(std::filesystem::path(path).parent_path())) {
    (void)entry;
    ++files;
  }
  EXPECT_EQ(files, 3u) << "victim, ready and the planted guess; no temporary file left";
  EXPECT_FALSE(WriteFileAtomically(dir / "missing-dir/ready", "1").ok());
}

TEST(SafeFileTest, ReopenAfterRotationWritesToANewFile) {
  TempDir dir;
  const std::string path = dir / "events.json", rotated = dir / "events.json.1";
  std::vector<std::string> names = {"default"};
  OutputContext context{.policy_names = &names};
  auto outputs = Outputs::Open({"json:" + path}, OutputOptions{}, context);
  ASSERT_TRUE(outputs.ok()) << outputs.status();
  (*outputs)->Start();
  (*outputs)->Write(MakeEvent(OpenatDef(), "before"));
  (*outputs)->Flush();
  for (int i = 0; i < 100 && (*outputs)->Stats()[0].sent < 1; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_EQ(rename(path.c_str(), rotated.c_str()), 0);  // what logrotate does, then SIGHUP
  ASSERT_TRUE((*outputs)->Reopen().ok());
  (*outputs)->Write(MakeEvent(OpenatDef(), "after"));
  (*outputs)->Stop(Clock::now() + std::chrono::seconds(1));
  EXPECT_THAT(ReadAll(rotated), HasSubstr("\"before\""));
  EXPECT_THAT(ReadAll(rotated), Not(HasSubstr("\"after\"")));
  EXPECT_THAT(ReadAll(path), HasSubstr("\"after\""));
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // A symlink planted at the path meanwhile is refused on reopen too.
  ASSERT_EQ(unlink(path.c_str()), 0);
  ASSERT_EQ(symlink(rotated.c_str(), path.c_str()), 0);
  EXPECT_FALSE((*outputs)->Reopen().ok());
}

// ------------------------------------------------------------ bounded, never blocking

TEST(QueueTest, StalledPipeDropsCountsAndStopsOnTime) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  std::vector<std::string> names = {"default"};
  OutputContext context{.policy_names = &names};
  OutputOptions options;
  options.queue_bytes = 256 << 10;
  OutputSpec spec = *ParseOutputSpec("json");
  // fd 1 stands for stdout: point it at a pipe that nobody reads.
  int saved = dup(STDOUT_FILENO);
  dup2(p[1], STDOUT_FILENO);
  auto out = OpenOutput(spec, options, context);
  ASSERT_TRUE(out.ok());
  (*out)->Start();
  events::Event e = MakeEvent(OpenatDef(), "cat", std::string(400, 'x'));
  auto start = Clock::now();
  for (int i = 0; i < 20000; ++i) {
    (*out)->Write(e);
    if (i % 100 == 0) (*out)->Flush();
  }
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(2)) << "Write/Flush never block";
  auto stop_start = Clock::now();
  (*out)->Stop(Clock::now() + std::chrono::milliseconds(300));
  auto took = Clock::now() - stop_start;
  dup2(saved, STDOUT_FILENO);
  close(saved);
  close(p[0]);
  close(p[1]);
  EXPECT_LT(took, std::chrono::milliseconds(800)) << "a writer blocked in write() is interrupted";
  OutputStats s = (*out)->Stats();
  EXPECT_GT(s.dropped, 0u);
  EXPECT_GT(s.unsent, 0u);
  EXPECT_EQ(s.queued + s.dropped, 20000u);
  EXPECT_LE(s.sent + s.unsent, s.queued);
  EXPECT_LT(s.unsent * 500, (256u << 10) * 2) << "the queue stayed within its bound";
}

TEST(QueueTest, ClosedPipeDropsWithoutGrowing) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  close(p[0]);
  signal(SIGPIPE, SIG_IGN);
  std::vector<std::string> names = {"default"};
  OutputContext context{.policy_names = &names};
  OutputOptions options;
  int saved = dup(STDOUT_FILENO);
  dup2(p[1], STDOUT_FILENO);
  auto out = OpenOutput(*ParseOutputSpec("table"), options, context);
  ASSERT_TRUE(out.ok());
  (*out)->Start();
  events::Event e = MakeEvent(OpenatDef());
  for (int i = 0; i < 5000; ++i) {
    (*out)->Write(e);
    (*out)->Flush();
  }
  (*out)->Stop(Clock::now() + std::chrono::milliseconds(500));
  dup2(saved, STDOUT_FILENO);
  close(saved);
  close(p[1]);
  OutputStats s = (*out)->Stats();
  EXPECT_EQ(s.sent, 0u);
  EXPECT_EQ(s.dropped + s.unsent, 5000u);
  EXPECT_EQ(s.unsent, 0u) << "nothing waits for a reader that is gone";
}

}  // namespace
}  // namespace vigil::engine
