package pii

import (
	"strings"
	"unicode"
	"unicode/utf8"
	"unsafe"
)

// Person names are found only next to a cue, which keeps precision usable without a
// name model: English "my name is Jane Doe", "Mr. Smith", "Name: Jane Doe"; Chinese
// "我叫张三", "姓名：李四", "收件人 王小明". Recall on free text is therefore limited (see
// EvaluatePresidio).

// enNameCue is an English cue and how many capitalized words must follow it.
type enNameCue struct {
	cue      string // lower case, matched at a word start
	minWords int
}

var enNameCues = []enNameCue{
	{"my name is ", 1}, {"my name's ", 1}, {"name: ", 1}, {"name is ", 1}, {"called ", 2},
	{"mr. ", 1}, {"mr ", 1}, {"mrs. ", 1}, {"mrs ", 1}, {"ms. ", 1}, {"ms ", 1}, {"miss ", 1},
	{"dr. ", 1}, {"dear ", 1}, {"i am ", 2}, {"i'm ", 2}, {"this is ", 2}, {"regards,\n", 1},
	{"regards, ", 1}, {"sincerely,\n", 1}, {"contact person: ", 1}, {"signed by ", 2},
}

// enNotNames are capitalized words that follow cues without being names.
var enNotNames = map[string]bool{
	"I": true, "The": true, "A": true, "An": true, "Not": true, "Sorry": true, "Here": true,
	"Customer": true, "Support": true, "Team": true, "Service": true, "Manager": true, "Please": true,
	"Monday": true, "Tuesday": true, "Wednesday": true, "Thursday": true, "Friday": true,
	"Saturday": true, "Sunday": true, "Thank": true, "Thanks": true, "Hello": true, "Hi": true,
	"Sir": true, "Madam": true, "My": true, "Your": true, "Our": true, "It": true, "In": true,
}

// detectEnglishNames finds one to three capitalized words after an English cue.
func detectEnglishNames(text string, sc *scan) []candidate {
	var out []candidate
	for _, m := range sc.cuesOf(text, cueEnName) {
		if r, _ := runeBefore(text, m.start); isWordRune(r) {
			continue
		}
		if c, ok := capitalizedWords(text, m.end, enNameCues[m.index].minWords); ok {
			out = append(out, c)
		}
	}
	return out
}

// capitalizedWords reads up to three name words at byte i ("Jane", "O'Neil", "J.") and
// accepts at least min of them.
func capitalizedWords(text string, i, min int) (candidate, bool) {
	start, end, n := i, i, 0
	for n < 3 {
		w := nameWordEnd(text, i)
		if w == i || enNotNames[strings.TrimSuffix(text[i:w], ".")] {
			break
		}
		end, n = w, n+1
		if w >= len(text) || text[w] != ' ' {
			break
		}
		i = w + 1
	}
	if n < min {
		return candidate{}, false
	}
	return candidate{typ: TypePerson, start: start, end: end, value: text[start:end]}, true
}

// nameWordEnd returns the end of a capitalized word at i (an upper-case letter followed
// by letters, apostrophes or hyphens, or an initial "J."), or i when there is none.
func nameWordEnd(text string, i int) int {
	r, size := runeAt(text, i)
	if size == 0 || !unicode.IsUpper(r) {
		return i
	}
	j := i + size
	if j < len(text) && text[j] == '.' {
		return j + 1
	}
	for j < len(text) {
		r, size := utf8.DecodeRuneInString(text[j:])
		if !unicode.IsLetter(r) && r != '\'' && r != '-' {
			break
		}
		if unicode.IsUpper(r) && j > i+size && text[j-1] != '\'' && text[j-1] != '-' {
			return i // CamelCase is a product or code, not a name
		}
		j += size
	}
	if j-i < 2 {
		return i
	}
	return j
}

// zhNameCues precede a Chinese name; strong cues are labels after which any Han name is
// accepted, weak ones ("我是") need a known surname.
var zhNameCues = []struct {
	cue    string
	strong bool
}{
	{"我叫", false}, {"我是", false}, {"本人", false}, {"名字是", false}, {"名字叫", false},
	{"姓名", true}, {"联系人", true}, {"收件人", true}, {"收货人", true}, {"持卡人", true},
	{"户名", true}, {"开户名", true}, {"寄件人", true}, {"患者", false}, {"客户", false},
}

// zhSurnames are common Chinese family names; compound ones are listed first.
var zhSurnames = strings.Fields(`欧阳 司马 诸葛 上官 东方 皇甫 慕容 令狐 司徒 夏侯 尉迟 长孙 宇文 公孙 轩辕 端木 独孤 南宫 西门
王 李 张 刘 陈 杨 黄 赵 吴 周 徐 孙 马 朱 胡 郭 何 高 林 罗 郑 梁 谢 宋 唐 许 韩 冯 邓 曹 彭 曾 肖 田 董 袁 潘
于 蒋 蔡 余 杜 叶 程 苏 魏 吕 丁 任 沈 姚 卢 姜 崔 钟 谭 陆 汪 范 金 石 廖 贾 夏 韦 付 方 白 邹 孟 熊 秦 邱 江 尹
薛 闫 段 雷 侯 龙 史 陶 黎 贺 顾 毛 郝 龚 邵 万 钱 严 覃 武 戴 莫 孔 向 汤 常 温 康 施 文 牛 樊 葛 邢 安 齐 易 乔
伍 庞 颜 倪 庄 聂 章 鲁 岳 翟 殷 詹 申 欧 耿 关 兰 焦 俞 左 柳 甘 祝 包 宁 尚 符 舒 阮 柯 纪 梅 童 凌 毕 单 季 裴
霍 涂 成 苗 谷 盛 曲 翁 冉 骆 蓝 路 游 辛 靳 管 柴 蒙 鲍 华 喻 祁 蒲 房 滕 屈 饶 解 牟 艾 尤 阳 时 穆 农 司 卓 古
吉 缪 简 车 项 连 芦 麦 褚 娄 窦 戚 岑 景 党 宫 费 卜 冷 晏 席 卫 米 柏 宗 瞿 桂 全 佟 应 臧 闵 苟 邬 边 卞 姬 师 和
仇 栾 隋 商 刁 沙 荣 巫 寇 桑 郎 甄 丛 仲 虞 敖 巩 明 佘 池 查 麻 苑 迟 邝`)

// zhNameStops cannot be part of a given name: titles, particles and punctuation.
const zhNameStops = "的了是在和与跟先女经老总师医同姐哥弟妹叔阿吗呢吧啊呀哦我你他她它们这那想要有没不也就都还会能可请帮给说问，。！？、；：,.!?;:（）() 　\n\t年月日号元个次"

// detectChineseNames finds a surname and one or two given-name characters after a cue.
func detectChineseNames(text string, sc *scan) []candidate {
	var out []candidate
	for _, m := range sc.cuesOf(text, cueZhName) {
		i := m.end
		for r, size := runeAt(text, i); strings.ContainsRune("：: 　是为", r) && size > 0; r, size = runeAt(text, i) {
			i += size
		}
		if c, ok := zhName(text, i, zhNameCues[m.index].strong); ok {
			out = append(out, c)
		}
	}
	return out
}

// zhName reads a name at byte i: a listed surname (or, after a strong cue, any Han
// character) and one or two more Han characters that are not stops.
func zhName(text string, i int, strong bool) (candidate, bool) {
	end := -1
	for _, s := range zhSurnames {
		if strings.HasPrefix(text[i:], s) {
			end = i + len(s)
			break
		}
	}
	if end < 0 && strong {
		if r, size := runeAt(text, i); size > 0 && unicode.Is(unicode.Han, r) && !strings.ContainsRune(zhNameStops, r) {
			end = i + size
		}
	}
	if end < 0 {
		return candidate{}, false
	}
	given := 0
	for given < 2 {
		r, size := runeAt(text, end)
		if size == 0 || !unicode.Is(unicode.Han, r) || strings.ContainsRune(zhNameStops, r) {
			break
		}
		end += size
		given++
	}
	if given == 0 {
		return candidate{}, false
	}
	return candidate{typ: TypePerson, start: i, end: end, value: text[i:end]}, true
}

// asciiLower lower-cases ASCII letters only, so byte offsets stay those of text.
func asciiLower(text string) string {
	for i := range len(text) {
		if c := text[i]; c >= 'A' && c <= 'Z' {
			b := []byte(text)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return unsafe.String(&b[0], len(b)) // b is not written again: one copy, not two
		}
	}
	return text
}
