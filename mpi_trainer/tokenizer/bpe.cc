#include "mpi_trainer/tokenizer/bpe.h"

#include <atomic>
#include <cstdio>
#include <queue>

#include <nlohmann/json.hpp>

#include "mpi_trainer/tokenizer/byte_level.h"
#include "mpi_trainer/tokenizer/utf8.h"

namespace egret::tokenizer {

// (left id, right id) -> (rank, merged id), open addressing with linear probing.
class Bpe::MergeTable {
 public:
  explicit MergeTable(size_t n) {
    size_t cap = 16;
    while (cap < n * 2) cap <<= 1;
    slots_.assign(cap, Slot{kEmpty, {0, 0}});
    mask_ = cap - 1;
  }
  void Put(TokenId a, TokenId b, uint32_t rank, TokenId merged) {
    uint64_t key = Key(a, b);
    size_t i = Hash(key) & mask_;
    while (slots_[i].key != kEmpty && slots_[i].key != key) i = (i + 1) & mask_;
    // A pair listed twice keeps its last rank, as a map built from the list would.
    slots_[i] = Slot{key, {rank, merged}};
  }
  const std::pair<uint32_t, TokenId>* Get(TokenId a, TokenId b) const {
    uint64_t key = Key(a, b);
    size_t i = Hash(key) & mask_;
    while (true) {
      const Slot& s = slots_[i];
      if (s.key == key) return &s.value;
      if (s.key == kEmpty) return nullptr;
      i = (i + 1) & mask_;
    }
  }

 private:
  static constexpr uint64_t kEmpty = ~0ull;
  struct Slot {
    uint64_t key;
    std::pair<uint32_t, TokenId> value;  // rank, merged id
  };
  static uint64_t Key(TokenId a, TokenId b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }
  static size_t Hash(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return static_cast<size_t>(k);
  }
  std::vector<Slot> slots_;
  size_t mask_ = 0;
};

namespace {

std::atomic<uint64_t> g_next_cache_key{1};

// Words longer than this are not cached (nor are they common).
constexpr size_t kMaxCachedBytes = 256;
constexpr size_t kCacheCapacity = 1 << 17;

using CacheMap = std::unordered_map<std::string, std::vector<std::pair<TokenId, uint32_t>>>;

CacheMap& ThreadCache(uint64_t key) {
  // One cache per (thread, model); a model's id is never reused.
  thread_local std::unordered_map<uint64_t, CacheMap> caches;
  thread_local uint64_t last_key = 0;
  thread_local CacheMap* last = nullptr;
  if (last_key != key || !last) {
    last = &caches[key];
    last_key = key;
  }
  return *last;
}

}  // namespace

Bpe::~Bpe() = default;

Result<std::unique_ptr<Bpe>> Bpe::FromJson(const nlohmann::json& m, const Where& where) {
  auto vocab_it = m.find("vocab");
  if (vocab_it == m.end() || !vocab_it->is_object())
    return Error(where + ".vocab must be an object of token -> id");
  auto merges_it = m.find("merges");
  if (merges_it == m.end() || !merges_it->is_array())
    return Error(where + ".merges must be a list of merges (\"a b\" or [\"a\", \"b\"])");
  if (m.contains("dropout") && !m["dropout"].is_null() && m["dropout"] != 0)
    return Error(where + ".dropout " + m["dropout"].dump() +
                 " is not supported (BPE dropout is for training tokenizers; set it to null)");

  Vocab vocab;
  vocab.reserve(vocab_it->size());
  for (auto it = vocab_it->begin(); it != vocab_it->end(); ++it) {
    if (!it.value().is_number_integer() || it.value().get<int64_t>() < 0 ||
        it.value().get<int64_t>() > INT32_MAX)
      return Error(where + ".vocab[" + Quote(it.key()) + "] must be a non-negative integer id (got " +
                   it.value().dump() + ")");
    vocab.emplace(it.key(), static_cast<TokenId>(it.value().get<int64_t>()));
  }
  Merges merges;
  merges.reserve(merges_it->size());
  for (size_t i = 0; i < merges_it->size(); ++i) {
    const auto& e = (*merges_it)[i];
    if (e.is_string()) {
      const std::string& s = e.get_ref<const std::string&>();
      size_t sp = s.find(' ');
      if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos)
        return Error(where + ".merges[" + std::to_string(i) + "] " + Quote(s) +
                     " must be two tokens separated by one space");
      merges.emplace_back(s.substr(0, sp), s.substr(sp + 1));
    } else if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string()) {
      merges.emplace_back(e[0].get<std::string>(), e[1].get<std::string>());
    } else {
      return Error(where + ".merges[" + std::to_string(i) + "] must be \"a b\" or [\"a\", \"b\"] (got " +
                   e.dump() + ")");
    }
  }
  BpeOptions opt;
  auto str_or_null = [&](const char* key, std::string* out) -> Status {
    auto it = m.find(key);
    if (it == m.end() || it->is_null()) return Ok();
    if (!it->is_string()) return Error(where + "." + key + " must be a string or null (got " + it->dump() + ")");
    *out = it->get<std::string>();
    return Ok();
  };
  std::string unk;
  EGRET_TRY(str_or_null("unk_token", &unk));
  if (m.contains("unk_token") && m["unk_token"].is_string()) opt.unk_token = unk;
  EGRET_TRY(str_or_null("continuing_subword_prefix", &opt.continuing_subword_prefix));
  EGRET_TRY(str_or_null("end_of_word_suffix", &opt.end_of_word_suffix));
  EGRET_ASSIGN_OR_RETURN(opt.fuse_unk, GetBool(m, "fuse_unk", false, where));
  EGRET_ASSIGN_OR_RETURN(opt.byte_fallback, GetBool(m, "byte_fallback", false, where));
  EGRET_ASSIGN_OR_RETURN(opt.ignore_merges, GetBool(m, "ignore_merges", false, where));
  return Build(std::move(vocab), merges, std::move(opt), where);
}

Result<std::unique_ptr<Bpe>> Bpe::Build(Vocab vocab, const Merges& merges, BpeOptions options,
                                        const Where& where) {
  std::unique_ptr<Bpe> bpe(new Bpe());
  bpe->opt_ = std::move(options);
  TokenId max_id = -1;
  for (const auto& [tok, id] : vocab) max_id = std::max(max_id, id);
  bpe->id_to_token_.resize(static_cast<size_t>(max_id + 1));
  bpe->has_id_.assign(static_cast<size_t>(max_id + 1), false);
  for (const auto& [tok, id] : vocab) {
    if (bpe->has_id_[id])
      return Error(where + ".vocab: id " + std::to_string(id) + " is given to both " +
                   Quote(bpe->id_to_token_[id]) + " and " + Quote(tok));
    bpe->id_to_token_[id] = tok;
    bpe->has_id_[id] = true;
  }
  bpe->byte_id_.fill(-1);
  for (const auto& [tok, id] : vocab) {
    if (auto bytes = FromByteLevel(tok)) {
      bpe->byte_vocab_.emplace(*bytes, id);
      if (bytes->size() == 1) bpe->byte_id_[static_cast<unsigned char>((*bytes)[0])] = id;
    }
  }
  if (bpe->opt_.unk_token) {
    auto it = vocab.find(*bpe->opt_.unk_token);
    if (it == vocab.end())
      return Error(where + ".unk_token " + Quote(*bpe->opt_.unk_token) + " is not in " + where + ".vocab");
    bpe->unk_id_ = it->second;
  }
  bpe->merges_ = std::make_unique<MergeTable>(merges.size());
  const size_t prefix_len = bpe->opt_.continuing_subword_prefix.size();
  for (size_t i = 0; i < merges.size(); ++i) {
    const auto& [a, b] = merges[i];
    auto ia = vocab.find(a);
    auto ib = vocab.find(b);
    const std::string& missing = ia == vocab.end() ? a : b;
    if (ia == vocab.end() || ib == vocab.end())
      return Error(where + ".merges[" + std::to_string(i) + "] (" + Quote(a) + ", " + Quote(b) +
                   ") uses token " + Quote(missing) + ", which is not in " + where + ".vocab");
    std::string merged = a + (b.size() >= prefix_len ? b.substr(prefix_len) : b);
    auto im = vocab.find(merged);
    if (im == vocab.end())
      return Error(where + ".merges[" + std::to_string(i) + "] (" + Quote(a) + ", " + Quote(b) +
                   ") makes " + Quote(merged) + ", which is not in " + where + ".vocab");
    bpe->merges_->Put(ia->second, ib->second, static_cast<uint32_t>(i), im->second);
  }
  bpe->vocab_ = std::move(vocab);
  bpe->cache_key_ = g_next_cache_key.fetch_add(1);
  return bpe;
}

std::optional<TokenId> Bpe::TokenToId(std::string_view token) const {
  auto it = vocab_.find(std::string(token));
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

const std::string* Bpe::IdToToken(TokenId id) const {
  if (id < 0 || static_cast<size_t>(id) >= has_id_.size() || !has_id_[id]) return nullptr;
  return &id_to_token_[id];
}

Bpe::Word Bpe::Split(std::string_view text, bool byte_level) const {
  Word word;
  word.reserve(text.size());
  std::optional<Piece> unk;
  auto flush_unk = [&] {
    if (unk) word.push_back(*unk);
    unk.reset();
  };
  auto add_unknown = [&](uint32_t len) {
    if (!unk_id_) return;  // no unk token: the character is dropped, as in Hugging Face's BPE
    if (unk && opt_.fuse_unk) {
      unk->len += len;
    } else {
      flush_unk();
      unk = Piece{*unk_id_, len};
    }
  };
  if (byte_level) {
    for (unsigned char b : text) {
      TokenId id = byte_id_[b];
      if (id >= 0) {
        flush_unk();
        word.push_back({id, 1});
      } else {
        add_unknown(1);
      }
    }
    flush_unk();
    return word;
  }
  std::string sym;
  size_t i = 0;
  while (i < text.size()) {
    size_t at = i;
    DecodeUtf8(text, i);
    std::string_view ch = text.substr(at, i - at);
    sym.clear();
    if (at > 0) sym += opt_.continuing_subword_prefix;
    sym += ch;
    if (i == text.size()) sym += opt_.end_of_word_suffix;
    auto it = vocab_.find(sym);
    if (it != vocab_.end()) {
      flush_unk();
      word.push_back({it->second, static_cast<uint32_t>(ch.size())});
      continue;
    }
    if (opt_.byte_fallback) {
      Word bytes;
      for (unsigned char b : sym) {
        char name[8];
        std::snprintf(name, sizeof name, "<0x%02X>", b);
        auto bit = vocab_.find(name);
        if (bit == vocab_.end()) break;
        bytes.push_back({bit->second, 1});
      }
      if (bytes.size() == sym.size()) {
        flush_unk();
        word.insert(word.end(), bytes.begin(), bytes.end());
        continue;
      }
    }
    add_unknown(static_cast<uint32_t>(ch.size()));
  }
  flush_unk();
  return word;
}

void Bpe::Merge(Word* word) const {
  const size_t n = word->size();
  if (n < 2) return;
  struct Sym {
    TokenId id;
    uint32_t len;
    int32_t prev, next;
  };
  std::vector<Sym> s(n);
  for (size_t i = 0; i < n; ++i)
    s[i] = {(*word)[i].id, (*word)[i].len, static_cast<int32_t>(i) - 1,
            i + 1 < n ? static_cast<int32_t>(i + 1) : -1};
  struct Cand {
    uint32_t rank;
    uint32_t pos;
    TokenId merged;
    bool operator>(const Cand& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::priority_queue<Cand, std::vector<Cand>, std::greater<Cand>> queue;
  for (size_t i = 0; i + 1 < n; ++i)
    if (auto m = merges_->Get(s[i].id, s[i + 1].id))
      queue.push({m->first, static_cast<uint32_t>(i), m->second});
  while (!queue.empty()) {
    Cand top = queue.top();
    queue.pop();
    Sym& cur = s[top.pos];
    if (cur.len == 0 || cur.next < 0) continue;
    Sym& right = s[cur.next];
    auto m = merges_->Get(cur.id, right.id);
    if (!m || m->second != top.merged) continue;  // stale entry
    cur.id = top.merged;
    cur.len += right.len;
    right.len = 0;
    cur.next = right.next;
    if (cur.next >= 0) s[cur.next].prev = static_cast<int32_t>(top.pos);
    if (cur.prev >= 0)
      if (auto pm = merges_->Get(s[cur.prev].id, cur.id))
        queue.push({pm->first, static_cast<uint32_t>(cur.prev), pm->second});
    if (cur.next >= 0)
      if (auto nm = merges_->Get(cur.id, s[cur.next].id)) queue.push({nm->first, top.pos, nm->second});
  }
  word->clear();
  for (const Sym& x : s)
    if (x.len > 0) word->push_back({x.id, x.len});
}

Bpe::Word Bpe::Compute(std::string_view text, bool byte_level) const {
  if (opt_.ignore_merges) {
    const Vocab& v = byte_level ? byte_vocab_ : vocab_;
    auto it = v.find(std::string(text));
    if (it != v.end()) return {{it->second, static_cast<uint32_t>(text.size())}};
  }
  Word w = Split(text, byte_level);
  Merge(&w);
  return w;
}

void Bpe::Tokenize(const Aligned& piece, std::vector<Token>* out) const {
  if (piece.text.empty()) return;
  // Byte-level pieces with a subword prefix/suffix are read spelled out (no real tokenizer
  // combines them, but the result must still be right).
  bool byte_level = piece.byte_level;
  const Aligned* p = &piece;
  Aligned spelled;
  if (byte_level && (!opt_.continuing_subword_prefix.empty() || !opt_.end_of_word_suffix.empty())) {
    spelled = MaterializeByteLevel(piece);
    p = &spelled;
    byte_level = false;
  }
  const std::string& text = p->text;
  auto emit = [&](const auto& word) {
    size_t at = 0;
    for (const auto& [id, len] : word) {
      Token t{id};
      if (p->track && len > 0) {
        t.lo = p->lo[at];
        t.hi = p->hi[at + len - 1];
      } else if (p->track) {
        t.lo = t.hi = p->Begin(at);
      }
      out->push_back(t);
      at += len;
    }
  };
  if (text.size() > kMaxCachedBytes) {
    Word w = Compute(text, byte_level);
    emit(w);
    return;
  }
  CacheMap& cache = ThreadCache(cache_key_ * 2 + (byte_level ? 1 : 0));
  auto it = cache.find(text);
  if (it == cache.end()) {
    Word w = Compute(text, byte_level);
    if (cache.size() >= kCacheCapacity) cache.clear();
    std::vector<std::pair<TokenId, uint32_t>> v;
    v.reserve(w.size());
    for (const auto& x : w) v.emplace_back(x.id, x.len);
    it = cache.emplace(text, std::move(v)).first;
  }
  emit(it->second);
}

}  // namespace egret::tokenizer
