#include "zerotune/data/bpe_tokenizer.hpp"

#include <algorithm>
#include <array>
#include <mutex>
#include <unordered_map>

#include "zerotune/base/error.hpp"
#include "zerotune/data/gpt2_pretokenizer.hpp"
#include "zerotune/data/text_input.hpp"

namespace zerotune::data {

namespace {

// GPT-2's bytes_to_unicode(): bytes '!'..'~', 0xA1..0xAC and 0xAE..0xFF stand for themselves,
// the other 68 bytes, in increasing order, for U+0100, U+0101, ...
std::array<char32_t, 256> byte_to_code_point() {
  std::array<char32_t, 256> table{};
  char32_t next = 256;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
    table[b] = printable ? char32_t(b) : next++;
  }
  return table;
}

void append_utf8(char32_t cp, std::string& out) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xC0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += char(0xE0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  } else {
    out += char(0xF0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3F));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  }
}

// A vocab.json key back to bytes, as the ByteLevel decoder does: every character through the
// inverse map, or the key's own UTF-8 when a character is outside the byte alphabet.
std::string key_to_bytes(std::string_view key, const std::array<int, 512>& code_point_to_byte) {
  std::string bytes;
  size_t i = 0;
  const auto* s = reinterpret_cast<const unsigned char*>(key.data());
  while (i < key.size()) {
    char32_t cp;
    size_t len;
    if (s[i] < 0x80) {
      cp = s[i], len = 1;
    } else if (s[i] < 0xE0 && i + 1 < key.size()) {
      cp = (char32_t(s[i] & 0x1F) << 6) | (s[i + 1] & 0x3F), len = 2;
    } else {
      return std::string(key);  // 3- and 4-byte characters are never in the byte alphabet
    }
    if (cp >= 512 || code_point_to_byte[cp] < 0) return std::string(key);
    bytes += char(code_point_to_byte[cp]);
    i += len;
  }
  return bytes;
}

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// Merge rules keyed by the pair of token ids: open addressing, linear probing.
class PairTable {
 public:
  struct Rule {
    int32_t rank;
    int32_t new_id;
  };
  void reserve(size_t count) {
    size_t capacity = 16;
    while (capacity < count * 2) capacity *= 2;
    slots_.assign(capacity, Slot{kEmpty, {0, 0}});
    mask_ = capacity - 1;
  }
  // Like Hugging Face's merge map, a repeated pair keeps the later rule.
  void insert_or_assign(int32_t left, int32_t right, Rule rule) {
    const uint64_t key = make_key(left, right);
    for (size_t i = hash(key) & mask_;; i = (i + 1) & mask_) {
      if (slots_[i].key == kEmpty || slots_[i].key == key) {
        slots_[i] = Slot{key, rule};
        return;
      }
    }
  }
  const Rule* find(int32_t left, int32_t right) const {
    const uint64_t key = make_key(left, right);
    for (size_t i = hash(key) & mask_;; i = (i + 1) & mask_) {
      if (slots_[i].key == key) return &slots_[i].rule;
      if (slots_[i].key == kEmpty) return nullptr;
    }
  }

 private:
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  struct Slot {
    uint64_t key;
    Rule rule;
  };
  static uint64_t make_key(int32_t left, int32_t right) {
    return (uint64_t(uint32_t(left)) << 32) | uint32_t(right);
  }
  static size_t hash(uint64_t key) {
    key *= 0x9E3779B97F4A7C15ull;
    return size_t(key ^ (key >> 32));
  }
  std::vector<Slot> slots_;
  size_t mask_ = 0;
};

// Split on '\n' (a trailing "\r" is dropped, like Rust's BufRead::lines(); so is the empty
// piece after a final newline).
std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    start = end + 1;
  }
  return lines;
}

constexpr size_t kMaxCacheEntries = size_t{1} << 18;
constexpr size_t kMaxCachedPieceBytes = 256;

}  // namespace

struct BpeTokenizer::Impl {
  Gpt2PreTokenizer pretokenizer;
  std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>> vocab;  // key -> id
  std::string token_bytes;              // bytes of every token, by id
  std::vector<uint32_t> token_offsets;  // token id's bytes: [offsets[id], offsets[id + 1])
  std::array<int32_t, 256> byte_ids{};
  PairTable merges;
  int64_t num_merges = 0;
  int32_t eos_id = -1;

  struct CachedIds {
    uint32_t offset;
    uint32_t count;
  };
  mutable std::mutex cache_mutex;
  mutable std::unordered_map<std::string, CachedIds, StringHash, std::equal_to<>> cache;
  mutable std::vector<int32_t> cache_ids;

  void load_vocab(const std::string& path);
  void load_merges(const std::string& path);
  void encode_piece(std::string_view piece, std::vector<int32_t>& ids) const;
};

void BpeTokenizer::Impl::load_vocab(const std::string& path) {
  const std::string text = read_file_bytes(path);
  const nlohmann::json json = parse_json(text, path);
  if (!json.is_object() || json.empty()) {
    throw InputError(path + ": expected a JSON object mapping tokens to ids");
  }
  const int64_t size = static_cast<int64_t>(json.size());
  std::vector<std::string> keys(size);
  std::vector<bool> seen(size, false);
  for (const auto& [key, value] : json.items()) {
    if (!value.is_number_integer() || value.get<int64_t>() < 0 || value.get<int64_t>() >= size) {
      throw InputError(path + ": token \"" + key + "\": expected an id in [0, " +
                       std::to_string(size) + "), got " + value.dump());
    }
    const int64_t id = value.get<int64_t>();
    if (seen[id]) throw InputError(path + ": id " + std::to_string(id) + " is used twice");
    seen[id] = true;
    keys[id] = key;
    vocab.emplace(key, static_cast<int32_t>(id));
  }
  const auto code_points = byte_to_code_point();
  std::array<int, 512> code_point_to_byte;
  code_point_to_byte.fill(-1);
  for (int b = 0; b < 256; ++b) code_point_to_byte[code_points[b]] = b;
  token_offsets.reserve(size + 1);
  for (const std::string& key : keys) {
    token_offsets.push_back(static_cast<uint32_t>(token_bytes.size()));
    token_bytes += key_to_bytes(key, code_point_to_byte);
  }
  token_offsets.push_back(static_cast<uint32_t>(token_bytes.size()));
  for (int b = 0; b < 256; ++b) {
    std::string key;
    append_utf8(code_points[b], key);
    const auto it = vocab.find(key);
    if (it == vocab.end()) {
      throw InputError(path + ": no token for byte " + std::to_string(b) + " (\"" + key +
                       "\"): not a byte-level BPE vocabulary");
    }
    byte_ids[b] = it->second;
  }
  const auto eos = vocab.find(std::string_view(kEndOfText));
  if (eos == vocab.end()) throw InputError(path + ": no \"<|endoftext|>\" token");
  eos_id = eos->second;
}

void BpeTokenizer::Impl::load_merges(const std::string& path) {
  const std::string text = read_file_bytes(path);
  check_utf8(text, path);
  const std::vector<std::string_view> lines = split_lines(text);
  merges.reserve(lines.size());
  auto lookup = [&](std::string_view token, size_t line_no, const char* what) {
    const auto it = vocab.find(token);
    if (it == vocab.end()) {
      throw InputError(path + ":" + std::to_string(line_no) + ": " + what + " \"" +
                       std::string(token) + "\" is not in vocab.json");
    }
    return it->second;
  };
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string_view line = lines[i];
    if (line.starts_with("#version")) continue;
    const size_t space = line.find(' ');
    if (space == std::string_view::npos || space == 0 || space + 1 == line.size() ||
        line.find(' ', space + 1) != std::string_view::npos) {
      throw InputError(path + ":" + std::to_string(i + 1) +
                       ": expected two tokens separated by one space, got \"" + std::string(line) +
                       "\"");
    }
    const std::string_view left = line.substr(0, space);
    const std::string_view right = line.substr(space + 1);
    const int32_t left_id = lookup(left, i + 1, "token");
    const int32_t right_id = lookup(right, i + 1, "token");
    const int32_t new_id = lookup(std::string(left) + std::string(right), i + 1, "merged token");
    merges.insert_or_assign(left_id, right_id, {static_cast<int32_t>(num_merges), new_id});
    ++num_merges;
  }
}

// Byte-pair merging of one piece, as Hugging Face's Word::merge_all: a min-heap of candidate
// merges ordered by (rank, position); a popped candidate is skipped when its left symbol is
// gone or the pair there no longer produces the same token.
void BpeTokenizer::Impl::encode_piece(std::string_view piece, std::vector<int32_t>& ids) const {
  const auto* bytes = reinterpret_cast<const unsigned char*>(piece.data());
  const int32_t n = static_cast<int32_t>(piece.size());
  if (n == 1) {
    ids.push_back(byte_ids[bytes[0]]);
    return;
  }
  struct Symbol {
    int32_t id;
    int32_t prev;
    int32_t next;
    bool alive;
  };
  struct Candidate {
    int32_t rank;
    int32_t pos;
    int32_t new_id;
    bool operator>(const Candidate& o) const {
      return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
  };
  thread_local std::vector<Symbol> symbols;
  thread_local std::vector<Candidate> heap;
  symbols.resize(n);
  heap.clear();
  for (int32_t i = 0; i < n; ++i) {
    symbols[i] = Symbol{byte_ids[bytes[i]], i - 1, i + 1 < n ? i + 1 : -1, true};
  }
  const auto greater = std::greater<Candidate>();
  auto push = [&](int32_t pos, int32_t left, int32_t right) {
    if (const PairTable::Rule* rule = merges.find(left, right)) {
      heap.push_back(Candidate{rule->rank, pos, rule->new_id});
      std::push_heap(heap.begin(), heap.end(), greater);
    }
  };
  for (int32_t i = 0; i + 1 < n; ++i) push(i, symbols[i].id, symbols[i + 1].id);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), greater);
    const Candidate top = heap.back();
    heap.pop_back();
    Symbol& left = symbols[top.pos];
    if (!left.alive || left.next < 0) continue;
    Symbol& right = symbols[left.next];
    const PairTable::Rule* rule = merges.find(left.id, right.id);
    if (!rule || rule->new_id != top.new_id) continue;
    left.id = top.new_id;
    right.alive = false;
    left.next = right.next;
    if (left.next >= 0) symbols[left.next].prev = top.pos;
    if (left.prev >= 0) push(left.prev, symbols[left.prev].id, left.id);
    if (left.next >= 0) push(top.pos, left.id, symbols[left.next].id);
  }
  for (int32_t i = 0; i >= 0; i = symbols[i].next) ids.push_back(symbols[i].id);
}

BpeTokenizer BpeTokenizer::from_directory(const std::string& dir) {
  return BpeTokenizer(dir + "/vocab.json", dir + "/merges.txt");
}

BpeTokenizer::BpeTokenizer(const std::string& vocab_path, const std::string& merges_path)
    : impl_(std::make_unique<Impl>()) {
  impl_->load_vocab(vocab_path);
  impl_->load_merges(merges_path);
}

BpeTokenizer::~BpeTokenizer() = default;
BpeTokenizer::BpeTokenizer(BpeTokenizer&&) noexcept = default;
BpeTokenizer& BpeTokenizer::operator=(BpeTokenizer&&) noexcept = default;

std::vector<int32_t> BpeTokenizer::encode(std::string_view text, std::string_view source) const {
  std::vector<int32_t> ids;
  encode_into(text, ids, source);
  return ids;
}

void BpeTokenizer::encode_into(std::string_view text, std::vector<int32_t>& ids,
                               std::string_view source) const {
  check_utf8(text, source);
  const Impl& impl = *impl_;
  std::lock_guard<std::mutex> lock(impl.cache_mutex);
  impl.pretokenizer.for_each_piece(text, [&](std::string_view piece) {
    if (piece.size() == 1) {
      ids.push_back(impl.byte_ids[static_cast<unsigned char>(piece[0])]);
      return;
    }
    const auto hit = impl.cache.find(piece);
    if (hit != impl.cache.end()) {
      const int32_t* cached = impl.cache_ids.data() + hit->second.offset;
      ids.insert(ids.end(), cached, cached + hit->second.count);
      return;
    }
    const size_t first = ids.size();
    impl.encode_piece(piece, ids);
    if (impl.cache.size() < kMaxCacheEntries && piece.size() <= kMaxCachedPieceBytes) {
      const auto offset = static_cast<uint32_t>(impl.cache_ids.size());
      impl.cache_ids.insert(impl.cache_ids.end(), ids.begin() + first, ids.end());
      impl.cache.emplace(std::string(piece),
                         Impl::CachedIds{offset, static_cast<uint32_t>(ids.size() - first)});
    }
  });
}

std::string BpeTokenizer::decode(std::span<const int32_t> ids) const {
  const Impl& impl = *impl_;
  const int64_t size = vocab_size();
  std::string text;
  for (size_t i = 0; i < ids.size(); ++i) {
    const int32_t id = ids[i];
    if (id < 0 || id >= size) {
      throw InputError("token " + std::to_string(i) + ": id " + std::to_string(id) +
                       " is outside the vocabulary [0, " + std::to_string(size) + ")");
    }
    text.append(impl.token_bytes, impl.token_offsets[id],
                impl.token_offsets[id + 1] - impl.token_offsets[id]);
  }
  return text;
}

int64_t BpeTokenizer::vocab_size() const {
  return static_cast<int64_t>(impl_->token_offsets.size()) - 1;
}

int64_t BpeTokenizer::num_merges() const { return impl_->num_merges; }

int32_t BpeTokenizer::eos_token_id() const { return impl_->eos_id; }

std::optional<int32_t> BpeTokenizer::token_id(std::string_view token) const {
  const auto it = impl_->vocab.find(token);
  if (it == impl_->vocab.end()) return std::nullopt;
  return it->second;
}

}  // namespace zerotune::data
