//! Tests of the `:authority` fix: header blocks, frames, integers.

use super::*;

/// `literal with incremental indexing, new name` as gRPC core sends `:authority`.
fn literal(name: &[u8], value: &[u8]) -> Vec<u8> {
    let mut block = vec![0x40, u8::try_from(name.len()).unwrap()];
    block.extend_from_slice(name);
    block.push(u8::try_from(value.len()).unwrap());
    block.extend_from_slice(value);
    block
}

#[test]
fn percent_encoded_path_becomes_a_valid_authority() {
    let mut block = vec![0x83, 0x86]; // :method POST, :scheme http
    block.extend(literal(b":authority", b"tmp%2Fh%2Fprocward.sock"));
    block.extend(literal(b"te", b"trailers"));
    assert!(fix_block(&mut block));
    assert_eq!(
        block[2..],
        [
            literal(b":authority", b"tmp_2Fh_2Fprocward.sock"),
            literal(b"te", b"trailers")
        ]
        .concat()[..]
    );
    // Static-table name, raw path as grpc-java sends it.
    let mut block = vec![0x01, 6, b'/', b'a', b'.', b's', b'o', b'k'];
    assert!(fix_block(&mut block));
    assert_eq!(&block[2..], b"_a.sok");
}

#[test]
fn valid_authorities_and_other_headers_are_untouched() {
    for block in [
        literal(b":authority", b"localhost"),
        literal(b":authority", b"127.0.0.1:50051"),
        literal(b"x-path", b"%2F"),
        vec![0x80 | 62, 0x20, 0x3f, 0xe1, 0x1f], // indexed, size updates
        vec![0x40, 0x85, 1, 2, 3],               // truncated: left alone
    ] {
        let mut copy = block.clone();
        assert!(!fix_block(&mut copy));
        assert_eq!(copy, block);
    }
}

fn frame(kind: u8, flags: u8, payload: &[u8]) -> Vec<u8> {
    let n = payload.len();
    let mut f = vec![
        (n >> 16) as u8,
        (n >> 8) as u8,
        n as u8,
        kind,
        flags,
        0,
        0,
        0,
        1,
    ];
    f.extend_from_slice(payload);
    f
}

/// What the server side reads when the client writes `sent` in `pieces`-byte writes.
async fn through(sent: &[u8], pieces: usize) -> Vec<u8> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (mut client, server) = UnixStream::pair().unwrap();
    let mut fixed = AuthorityFix::new(server);
    let sent = sent.to_vec();
    let writer = tokio::spawn(async move {
        for piece in sent.chunks(pieces) {
            client.write_all(piece).await.unwrap();
        }
    });
    let mut got = Vec::new();
    fixed.read_to_end(&mut got).await.unwrap();
    writer.await.unwrap();
    got
}

#[tokio::test]
async fn a_header_block_split_over_frames_is_fixed_in_place() {
    let block = [vec![0x83], literal(b":authority", b"%2Fs.sock"), vec![0x86]].concat();
    let (head, tail) = block.split_at(5); // the value straddles the two frames
    let mut padded = vec![3]; // pad length
    padded.extend_from_slice(head);
    padded.extend_from_slice(&[0, 0, 0]);
    let sent = [
        PREFACE.to_vec(),
        frame(0x4, 0, &[]), // SETTINGS
        frame(HEADERS, PADDED, &padded),
        frame(CONTINUATION, END_HEADERS, tail),
        frame(0x0, 0x1, b"data %2F"), // DATA, untouched
    ]
    .concat();
    let fixed_block = [vec![0x83], literal(b":authority", b"_2Fs.sock"), vec![0x86]].concat();
    let (fixed_head, fixed_tail) = fixed_block.split_at(5);
    let mut fixed_padded = vec![3];
    fixed_padded.extend_from_slice(fixed_head);
    fixed_padded.extend_from_slice(&[0, 0, 0]);
    let expected = [
        PREFACE.to_vec(),
        frame(0x4, 0, &[]),
        frame(HEADERS, PADDED, &fixed_padded),
        frame(CONTINUATION, END_HEADERS, fixed_tail),
        frame(0x0, 0x1, b"data %2F"),
    ]
    .concat();
    for pieces in [1, 7, sent.len()] {
        assert_eq!(through(&sent, pieces).await, expected, "writes of {pieces}");
    }
    // Not HTTP/2: passed through as it is.
    assert_eq!(
        through(b"GET / HTTP/1.1\r\n\r\n%2F", 3).await,
        b"GET / HTTP/1.1\r\n\r\n%2F"
    );
}

#[test]
fn integers() {
    assert_eq!(integer(&[0x0a], 0, 5), Some((10, 1)));
    assert_eq!(integer(&[0x1f, 0x9a, 0x0a], 0, 5), Some((1337, 3)));
    assert_eq!(integer(&[0x1f, 0x9a], 0, 5), None);
    assert_eq!(
        integer(&[0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], 0, 5),
        None
    );
}
