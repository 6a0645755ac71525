package send

import (
	"errors"

	"google.golang.org/protobuf/encoding/protowire"
)

var errBadResponse = errors.New("malformed ExportTraceServiceResponse")

// parseResponse decodes an ExportTraceServiceResponse's partial_success
// (field 1: rejected_spans = 1, error_message = 2) without the generated
// types; unknown fields are skipped and, as protobuf merges repeated
// occurrences, the last value of each field wins.
func parseResponse(b []byte) (rejected int64, msg string, err error) {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return 0, "", errBadResponse
		}
		b = b[n:]
		if num == 1 && typ == protowire.BytesType {
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return 0, "", errBadResponse
			}
			b = b[n:]
			if rejected, msg, err = parsePartial(v, rejected, msg); err != nil {
				return 0, "", err
			}
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return 0, "", errBadResponse
		}
		b = b[n:]
	}
	return rejected, msg, nil
}

func parsePartial(b []byte, rejected int64, msg string) (int64, string, error) {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return 0, "", errBadResponse
		}
		b = b[n:]
		switch {
		case num == 1 && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return 0, "", errBadResponse
			}
			rejected = int64(v)
			b = b[n:]
		case num == 2 && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return 0, "", errBadResponse
			}
			msg = string(v)
			b = b[n:]
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return 0, "", errBadResponse
			}
			b = b[n:]
		}
	}
	return rejected, msg, nil
}
