/* rfl-chat-composer.c
 *
 * Copyright 2026 The Reflection authors
 * SPDX-License-Identifier: MIT
 */

#include "config.h"

#include "rfl-chat-composer.h"

#include <glib/gi18n.h>

struct _RflChatComposer
{
  AdwBin       parent_instance;

  gboolean     streaming;

  /* Template children */
  GtkWidget   *scroller;
  GtkTextView *text_view;
  GtkWidget   *placeholder_label;
  GtkWidget   *send_button;
};

G_DEFINE_FINAL_TYPE (RflChatComposer, rfl_chat_composer, ADW_TYPE_BIN)

enum {
  PROP_0,
  PROP_STREAMING,
  N_PROPS
};

enum {
  SIGNAL_SEND,
  SIGNAL_STOP,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static char *
dup_trimmed_text (RflChatComposer *self)
{
  char *text = rfl_chat_composer_dup_text (self);

  return g_strstrip (text);
}

static void
update_button (RflChatComposer *self)
{
  g_autofree char *text = dup_trimmed_text (self);
  const char *tooltip;

  if (self->streaming)
    {
      gtk_button_set_icon_name (GTK_BUTTON (self->send_button),
                                "media-playback-stop-symbolic");
      gtk_widget_remove_css_class (self->send_button, "suggested-action");
      gtk_widget_set_sensitive (self->send_button, TRUE);
      tooltip = _("Stop");
    }
  else
    {
      gtk_button_set_icon_name (GTK_BUTTON (self->send_button), "go-up-symbolic");
      gtk_widget_add_css_class (self->send_button, "suggested-action");
      gtk_widget_set_sensitive (self->send_button, *text != '\0');
      tooltip = _("Send");
    }

  gtk_widget_set_tooltip_text (self->send_button, tooltip);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->send_button),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, tooltip, -1);
}

static void
buffer_changed_cb (RflChatComposer *self)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->text_view);

  gtk_widget_set_visible (self->placeholder_label,
                          gtk_text_buffer_get_char_count (buffer) == 0);
  update_button (self);
}

static void
send_button_clicked_cb (RflChatComposer *self)
{
  if (self->streaming)
    g_signal_emit (self, signals[SIGNAL_STOP], 0);
  else
    rfl_chat_composer_send (self);
}

static gboolean
key_pressed_cb (GtkEventControllerKey *controller,
                guint                  keyval,
                guint                  keycode,
                GdkModifierType        state,
                RflChatComposer       *self)
{
  if (keyval != GDK_KEY_Return && keyval != GDK_KEY_KP_Enter
      && keyval != GDK_KEY_ISO_Enter)
    return FALSE;

  /* Shift+Enter is a new line, as in every chat. */
  if ((state & GDK_SHIFT_MASK) != 0)
    return FALSE;

  rfl_chat_composer_send (self);

  return TRUE;
}

static void
rfl_chat_composer_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  RflChatComposer *self = RFL_CHAT_COMPOSER (object);

  switch (prop_id)
    {
    case PROP_STREAMING:
      g_value_set_boolean (value, self->streaming);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rfl_chat_composer_set_property (GObject      *object,
                                guint         prop_id,
                                const GValue *value,
                                GParamSpec   *pspec)
{
  RflChatComposer *self = RFL_CHAT_COMPOSER (object);

  switch (prop_id)
    {
    case PROP_STREAMING:
      rfl_chat_composer_set_streaming (self, g_value_get_boolean (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static gboolean
rfl_chat_composer_grab_focus (GtkWidget *widget)
{
  RflChatComposer *self = RFL_CHAT_COMPOSER (widget);

  return gtk_widget_grab_focus (GTK_WIDGET (self->text_view));
}

static void
rfl_chat_composer_dispose (GObject *object)
{
  gtk_widget_dispose_template (GTK_WIDGET (object), RFL_TYPE_CHAT_COMPOSER);

  G_OBJECT_CLASS (rfl_chat_composer_parent_class)->dispose (object);
}

static void
rfl_chat_composer_class_init (RflChatComposerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = rfl_chat_composer_dispose;
  object_class->get_property = rfl_chat_composer_get_property;
  object_class->set_property = rfl_chat_composer_set_property;

  widget_class->grab_focus = rfl_chat_composer_grab_focus;

  properties[PROP_STREAMING] =
    g_param_spec_boolean ("streaming", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* The text to send, trimmed and never empty. */
  signals[SIGNAL_SEND] =
    g_signal_new ("send", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  signals[SIGNAL_STOP] =
    g_signal_new ("stop", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               RESOURCE_PREFIX "/ui/rfl-chat-composer.ui");
  gtk_widget_class_bind_template_child (widget_class, RflChatComposer, scroller);
  gtk_widget_class_bind_template_child (widget_class, RflChatComposer, text_view);
  gtk_widget_class_bind_template_child (widget_class, RflChatComposer, placeholder_label);
  gtk_widget_class_bind_template_child (widget_class, RflChatComposer, send_button);
  gtk_widget_class_bind_template_callback (widget_class, send_button_clicked_cb);
}

static void
rfl_chat_composer_init (RflChatComposer *self)
{
  GtkEventController *keys;

  gtk_widget_init_template (GTK_WIDGET (self));

  g_signal_connect_object (gtk_text_view_get_buffer (self->text_view), "changed",
                           G_CALLBACK (buffer_changed_cb), self, G_CONNECT_SWAPPED);

  /* In the capture phase, before the text view inserts a new line. */
  keys = gtk_event_controller_key_new ();
  gtk_event_controller_set_propagation_phase (keys, GTK_PHASE_CAPTURE);
  g_signal_connect (keys, "key-pressed", G_CALLBACK (key_pressed_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self->text_view), keys);

  update_button (self);
}

GtkWidget *
rfl_chat_composer_new (void)
{
  return g_object_new (RFL_TYPE_CHAT_COMPOSER, NULL);
}

char *
rfl_chat_composer_dup_text (RflChatComposer *self)
{
  GtkTextBuffer *buffer;
  GtkTextIter start, end;

  g_return_val_if_fail (RFL_IS_CHAT_COMPOSER (self), NULL);

  buffer = gtk_text_view_get_buffer (self->text_view);
  gtk_text_buffer_get_bounds (buffer, &start, &end);

  return gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
}

void
rfl_chat_composer_set_text (RflChatComposer *self,
                            const char      *text)
{
  g_return_if_fail (RFL_IS_CHAT_COMPOSER (self));

  gtk_text_buffer_set_text (gtk_text_view_get_buffer (self->text_view),
                            text != NULL ? text : "", -1);
}

gboolean
rfl_chat_composer_get_streaming (RflChatComposer *self)
{
  g_return_val_if_fail (RFL_IS_CHAT_COMPOSER (self), FALSE);

  return self->streaming;
}

void
rfl_chat_composer_set_streaming (RflChatComposer *self,
                                 gboolean         streaming)
{
  g_return_if_fail (RFL_IS_CHAT_COMPOSER (self));

  streaming = !!streaming;
  if (self->streaming == streaming)
    return;

  self->streaming = streaming;
  update_button (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STREAMING]);
}

gboolean
rfl_chat_composer_send (RflChatComposer *self)
{
  g_autofree char *text = NULL;

  g_return_val_if_fail (RFL_IS_CHAT_COMPOSER (self), FALSE);

  if (self->streaming)
    return FALSE;

  text = dup_trimmed_text (self);
  if (*text == '\0')
    return FALSE;

  g_signal_emit (self, signals[SIGNAL_SEND], 0, text);

  return TRUE;
}

void
rfl_chat_composer_focus (RflChatComposer *self)
{
  g_return_if_fail (RFL_IS_CHAT_COMPOSER (self));

  gtk_widget_grab_focus (GTK_WIDGET (self->text_view));
}
