#!/bin/sh
# The crafted messages of bench scenario g, one per line, about 2,000
# characters each: long runs, repeated words, digits against Chinese, every
# emoji.  The regex worst cases a buyer (or an attacker) can send; the
# turn fuzzer (tests/fuzz/) starts from them too.
LC_ALL=C awk 'function rep(s, n,   r, i) {
		r = ""
		for (i = 0; i < n; i++)
			r = r s
		return r
	}
	function utf8(cp) {
		return sprintf("%c%c%c%c", 240 + int(cp / 262144),
			128 + int(cp / 4096) % 64,
			128 + int(cp / 64) % 64, 128 + cp % 64)
	}
	BEGIN {
		print rep("a", 2000)
		print rep("快", 2000)
		print rep("快递", 1000)
		print rep("1", 2000)
		print rep("1快", 1000)
		print rep("快递到哪了", 400)
		print rep("我要退款", 500)
		print "订单号" rep("1234567890", 199)
		print rep("1 快 ", 500)
		print rep("！", 2000)
		print rep("?", 2000)
		print rep("ａ", 2000)
		print rep("哈", 2000)
		print rep("轉人工", 666)
		s = ""
		for (cp = 127744; cp < 127744 + 2000; cp++)
			s = s utf8(cp)
		print s
		print rep(utf8(128512), 2000)
	}'
