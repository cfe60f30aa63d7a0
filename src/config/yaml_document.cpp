#include "zerotune/config/yaml_document.hpp"

#include <yaml.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "zerotune/base/error.hpp"
#include "zerotune/base/quoted.hpp"

namespace zerotune::config {

bool YamlNode::is_null() const {
  return kind == Kind::kScalar && plain &&
         (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL");
}

const YamlNode* YamlNode::find(std::string_view key) const {
  for (const YamlEntry& entry : entries) {
    if (entry.key == key) return &entry.value;
  }
  return nullptr;
}

std::string YamlNode::describe() const {
  switch (kind) {
    case Kind::kMapping:
      return "a mapping";
    case Kind::kSequence:
      return "a sequence";
    case Kind::kScalar:
      break;
  }
  return quote_value(text);
}

namespace {

// Nesting deeper than this is not a config; the limit keeps the recursion off the stack's end.
constexpr int kMaxDepth = 64;
// More nodes than this is not a config (a full one has a few hundred).
constexpr int64_t kMaxNodes = 1000000;

const std::string kStrTag = "tag:yaml.org,2002:str";

// libyaml's event parser over one text, one event at a time. Owns the parser and the current
// event; each next() frees the previous event.
class EventReader {
 public:
  EventReader(std::string_view text, const std::string& source) : source_(source) {
    if (!yaml_parser_initialize(&parser_)) {
      throw_library_error("libyaml", "yaml_parser_initialize", "out of memory");
    }
    yaml_parser_set_input_string(&parser_, reinterpret_cast<const unsigned char*>(text.data()),
                                 text.size());
  }
  ~EventReader() {
    if (has_event_) yaml_event_delete(&event_);
    yaml_parser_delete(&parser_);
  }
  EventReader(const EventReader&) = delete;
  EventReader& operator=(const EventReader&) = delete;

  const yaml_event_t& next() {
    if (has_event_) yaml_event_delete(&event_);
    has_event_ = false;
    if (!yaml_parser_parse(&parser_, &event_)) throw_parser_error();
    has_event_ = true;
    return event_;
  }

  [[noreturn]] void fail(const yaml_mark_t& mark, const std::string& problem) const {
    throw InputError(source_ + ":" + std::to_string(mark.line + 1) + ":" +
                     std::to_string(mark.column + 1) + ": " + problem);
  }

 private:
  [[noreturn]] void throw_parser_error() const {
    std::string problem = parser_.problem ? parser_.problem : "malformed YAML";
    if (parser_.context) {
      problem += " (" + std::string(parser_.context) + " at line " +
                 std::to_string(parser_.context_mark.line + 1) + ")";
    }
    fail(parser_.problem_mark, problem);
  }

  std::string source_;
  yaml_parser_t parser_{};
  yaml_event_t event_{};
  bool has_event_ = false;
};

class TreeBuilder {
 public:
  TreeBuilder(std::string_view text, const std::string& source) : events_(text, source) {}

  YamlNode build() {
    expect(events_.next(), YAML_STREAM_START_EVENT);
    const yaml_event_t& first = events_.next();
    if (first.type == YAML_STREAM_END_EVENT) return YamlNode{};  // empty stream: null
    expect(first, YAML_DOCUMENT_START_EVENT);
    YamlNode root = node(events_.next(), 0);
    expect(events_.next(), YAML_DOCUMENT_END_EVENT);
    const yaml_event_t& after = events_.next();
    if (after.type != YAML_STREAM_END_EVENT) {
      events_.fail(after.start_mark, "expected a single YAML document, found a second one");
    }
    return root;
  }

 private:
  void expect(const yaml_event_t& event, yaml_event_type_t type) const {
    if (event.type != type) events_.fail(event.start_mark, "unexpected YAML structure");
  }

  // Builds the node that starts with `event` (consuming its events up to its end).
  YamlNode node(const yaml_event_t& event, int depth) {
    if (depth > kMaxDepth) events_.fail(event.start_mark, "nesting too deep");
    count_nodes(event, 1);
    YamlNode out;
    out.line = static_cast<int>(event.start_mark.line) + 1;
    out.column = static_cast<int>(event.start_mark.column) + 1;
    std::string anchor;
    switch (event.type) {
      case YAML_ALIAS_EVENT:
        return alias(event);
      case YAML_SCALAR_EVENT: {
        const auto& s = event.data.scalar;
        out.text.assign(reinterpret_cast<const char*>(s.value), s.length);
        const bool str_tag = s.tag && kStrTag == reinterpret_cast<const char*>(s.tag);
        out.plain = s.style == YAML_PLAIN_SCALAR_STYLE && !str_tag;
        anchor = name_of(s.anchor);
        break;
      }
      case YAML_SEQUENCE_START_EVENT:
        out.kind = YamlNode::Kind::kSequence;
        anchor = name_of(event.data.sequence_start.anchor);
        for (;;) {
          const yaml_event_t& item = events_.next();
          if (item.type == YAML_SEQUENCE_END_EVENT) break;
          out.items.push_back(node(item, depth + 1));
        }
        break;
      case YAML_MAPPING_START_EVENT:
        out.kind = YamlNode::Kind::kMapping;
        anchor = name_of(event.data.mapping_start.anchor);
        mapping_entries(out, depth);
        break;
      default:
        events_.fail(event.start_mark, "unexpected YAML structure");
    }
    if (!anchor.empty()) anchors_[anchor] = out;
    return out;
  }

  // Aliases copy what they name, so nested aliases can make a short text into a huge tree
  // ("billion laughs"): count the nodes built and stop at kMaxNodes.
  void count_nodes(const yaml_event_t& event, int64_t added) {
    nodes_ += added;
    if (nodes_ > kMaxNodes) {
      events_.fail(event.start_mark, "document too large (more than " + std::to_string(kMaxNodes) +
                                         " nodes, counting what aliases repeat)");
    }
  }

  static int64_t size_of(const YamlNode& n) {
    int64_t size = 1;
    for (const YamlNode& item : n.items) size += size_of(item);
    for (const YamlEntry& entry : n.entries) size += 1 + size_of(entry.value);
    return size;
  }

  void mapping_entries(YamlNode& mapping, int depth) {
    std::map<std::string, int> first_lines;  // key -> its line
    for (;;) {
      const yaml_event_t& key_event = events_.next();
      if (key_event.type == YAML_MAPPING_END_EVENT) return;
      const yaml_mark_t key_mark = key_event.start_mark;
      YamlNode key = node(key_event, depth + 1);
      if (!key.is_scalar()) events_.fail(key_mark, "mapping keys must be scalars");
      // A map, not a scan of the entries so far: a hostile file's cost stays n log n in its
      // number of keys.
      const auto [seen, fresh] = first_lines.emplace(key.text, key.line);
      if (!fresh) {
        events_.fail(key_mark, "duplicate key " + quote_value(key.text) + " (first at line " +
                                   std::to_string(seen->second) + ")");
      }
      YamlNode value = node(events_.next(), depth + 1);
      mapping.entries.push_back(
          YamlEntry{std::move(key.text), key.line, key.column, std::move(value)});
    }
  }

  YamlNode alias(const yaml_event_t& event) {
    const std::string anchor = name_of(event.data.alias.anchor);
    auto it = anchors_.find(anchor);
    if (it == anchors_.end()) events_.fail(event.start_mark, "unknown alias *" + anchor);
    count_nodes(event, size_of(it->second));
    YamlNode copy = it->second;
    copy.line = static_cast<int>(event.start_mark.line) + 1;
    copy.column = static_cast<int>(event.start_mark.column) + 1;
    return copy;
  }

  static std::string name_of(const yaml_char_t* anchor) {
    return anchor ? reinterpret_cast<const char*>(anchor) : "";
  }

  EventReader events_;
  std::map<std::string, YamlNode> anchors_;
  int64_t nodes_ = 0;
};

}  // namespace

YamlNode parse_yaml(std::string_view text, const std::string& source) {
  return TreeBuilder(text, source).build();
}

}  // namespace zerotune::config
