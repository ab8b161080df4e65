/* MD5 (RFC 1321) over bytes, and MikroTik's CHAP answer: hexMD5(chap-id + password + chap-challenge).
   Small and self-contained, so the portal needs nothing from the router. */
(function (global) {
  'use strict';
  var SHIFTS = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];
  var K = [];
  for (var k = 0; k < 64; k++) K[k] = Math.floor(Math.abs(Math.sin(k + 1)) * 4294967296) | 0;

  function md5Bytes(bytes) {
    var n = bytes.length;
    var blocks = ((n + 8) >>> 6) + 1;
    var words = new Array(blocks * 16);
    for (var w = 0; w < words.length; w++) words[w] = 0;
    for (var i = 0; i < n; i++) words[i >> 2] |= (bytes[i] & 255) << ((i % 4) * 8);
    words[n >> 2] |= 0x80 << ((n % 4) * 8);
    words[blocks * 16 - 2] = (n * 8) | 0;
    words[blocks * 16 - 1] = Math.floor(n / 536870912) | 0;
    var a0 = 0x67452301, b0 = 0xefcdab89 | 0, c0 = 0x98badcfe | 0, d0 = 0x10325476;
    for (var off = 0; off < words.length; off += 16) {
      var a = a0, b = b0, c = c0, d = d0;
      for (var j = 0; j < 64; j++) {
        var f, g;
        if (j < 16) { f = (b & c) | (~b & d); g = j; }
        else if (j < 32) { f = (d & b) | (~d & c); g = (5 * j + 1) % 16; }
        else if (j < 48) { f = b ^ c ^ d; g = (3 * j + 5) % 16; }
        else { f = c ^ (b | ~d); g = (7 * j) % 16; }
        f = (f + a + K[j] + words[off + g]) | 0;
        a = d; d = c; c = b;
        var s = SHIFTS[(j >> 4) * 4 + (j % 4)];
        b = (b + ((f << s) | (f >>> (32 - s)))) | 0;
      }
      a0 = (a0 + a) | 0; b0 = (b0 + b) | 0; c0 = (c0 + c) | 0; d0 = (d0 + d) | 0;
    }
    var hex = '';
    [a0, b0, c0, d0].forEach(function (v) {
      for (var q = 0; q < 4; q++) hex += ((v >>> (q * 8)) & 255).toString(16).padStart(2, '0');
    });
    return hex;
  }

  /* "\371\030…" as MikroTik writes $(chap-id) / $(chap-challenge) → bytes. Characters that are not
     escaped stand for themselves (code & 255). */
  function unescapeOctal(text) {
    var out = [];
    for (var i = 0; i < text.length; i++) {
      var ch = text.charAt(i);
      if (ch === '\\' && i + 1 < text.length) {
        var m = /^[0-7]{1,3}/.exec(text.substr(i + 1, 3));
        if (m) { out.push(parseInt(m[0], 8) & 255); i += m[0].length; }
        else { out.push(text.charCodeAt(i + 1) & 255); i += 1; }
      } else {
        out.push(text.charCodeAt(i) & 255);
      }
    }
    return out;
  }

  function utf8Bytes(text) {
    var bin = unescape(encodeURIComponent(text)), out = [];
    for (var i = 0; i < bin.length; i++) out.push(bin.charCodeAt(i));
    return out;
  }

  function chapPassword(chapId, password, chapChallenge) {
    return md5Bytes(unescapeOctal(chapId).concat(utf8Bytes(password), unescapeOctal(chapChallenge)));
  }

  global.HotspotMD5 = { md5Bytes: md5Bytes, unescapeOctal: unescapeOctal, utf8Bytes: utf8Bytes,
    chapPassword: chapPassword };
})(typeof window !== "undefined" ? window : this);
