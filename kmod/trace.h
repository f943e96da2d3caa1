/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fastipc tracepoints: enable with events/fastipc/ in tracefs. Endpoints are
 * named by their serial number (ep_id), messages by their token.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM fastipc

#if !defined(_FASTIPC_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _FASTIPC_TRACE_H

#include <linux/tracepoint.h>

DECLARE_EVENT_CLASS(fastipc_msg_class,
		    TP_PROTO(u64 ep_id, u64 token, u32 opcode, u32 len),
		    TP_ARGS(ep_id, token, opcode, len),
		    TP_STRUCT__entry(__field(u64, ep_id)
				     __field(u64, token)
				     __field(u32, opcode)
				     __field(u32, len)),
		    TP_fast_assign(__entry->ep_id = ep_id;
				   __entry->token = token;
				   __entry->opcode = opcode;
				   __entry->len = len;),
		    TP_printk("ep=%llu token=%#llx opcode=%u len=%u",
			      __entry->ep_id, __entry->token, __entry->opcode, __entry->len));

/* A call, one-way message or forwarded call took a slot and was delivered. */
DEFINE_EVENT(fastipc_msg_class, fastipc_call,
	     TP_PROTO(u64 ep_id, u64 token, u32 opcode, u32 len),
	     TP_ARGS(ep_id, token, opcode, len));
DEFINE_EVENT(fastipc_msg_class, fastipc_send,
	     TP_PROTO(u64 ep_id, u64 token, u32 opcode, u32 len),
	     TP_ARGS(ep_id, token, opcode, len));
DEFINE_EVENT(fastipc_msg_class, fastipc_forward,
	     TP_PROTO(u64 ep_id, u64 token, u32 opcode, u32 len),
	     TP_ARGS(ep_id, token, opcode, len));
/* A server thread took a message. */
DEFINE_EVENT(fastipc_msg_class, fastipc_receive,
	     TP_PROTO(u64 ep_id, u64 token, u32 opcode, u32 len),
	     TP_ARGS(ep_id, token, opcode, len));

/* A server answered a token; ret is the reply's errno, 0 if delivered. */
TRACE_EVENT(fastipc_reply,
	    TP_PROTO(u64 ep_id, u64 token, s32 status, u32 len, int ret),
	    TP_ARGS(ep_id, token, status, len, ret),
	    TP_STRUCT__entry(__field(u64, ep_id)
			     __field(u64, token)
			     __field(s32, status)
			     __field(u32, len)
			     __field(int, ret)),
	    TP_fast_assign(__entry->ep_id = ep_id;
			   __entry->token = token;
			   __entry->status = status;
			   __entry->len = len;
			   __entry->ret = ret;),
	    TP_printk("ep=%llu token=%#llx status=%d len=%u ret=%d",
		      __entry->ep_id, __entry->token, __entry->status, __entry->len,
		      __entry->ret));

/* Any command that failed, with its ioctl number and errno. */
TRACE_EVENT(fastipc_error,
	    TP_PROTO(unsigned int nr, int err),
	    TP_ARGS(nr, err),
	    TP_STRUCT__entry(__field(unsigned int, nr)
			     __field(int, err)),
	    TP_fast_assign(__entry->nr = nr;
			   __entry->err = err;),
	    TP_printk("cmd=%u err=%d", __entry->nr, __entry->err));

#endif /* _FASTIPC_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
